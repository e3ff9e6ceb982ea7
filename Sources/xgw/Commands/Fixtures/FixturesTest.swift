import ArgumentParser
import Foundation
import GatewayMapping

/// `xgw fixtures test`: every fixture against its expected records and rejections (what `.ci/run` calls).
struct FixturesTest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run every fixture and compare actual with expected records and rejections.",
        discussion: """
            The first line names the mappings, seeds and fixtures folders used. Mappings/routes.yaml is checked too \
            (as xgw mappings lint does): its problems are reported as a failed 'Mappings/routes.yaml'. \
            Exit status 0 when all fixtures match and the routes are sound, 1 otherwise.
            """)

    enum Reporter: String, ExpressibleByArgument, CaseIterable {
        case human, json, junit
    }

    @OptionGroup var selection: FixtureSelection
    @OptionGroup var mappingOptions: MappingOptions

    @Option(name: .long, help: "human, json or junit.")
    var reporter: Reporter = .human

    func run() async throws {
        // Which folders are proved, first: on standard output for people, on standard error beside a report.
        let folders = "using " + (mappingOptions.folders + [selection.folder]).joined(separator: ", ")
        if reporter == .human { Console.out.line(folders) } else { Console.error("xgw: " + folders) }
        let translator = try mappingOptions.translator()
        let fixtures = selection.selected()
        let renderFixtures = selection.selectedRender()
        if fixtures.isEmpty && renderFixtures.isEmpty {
            Console.error("xgw: no fixtures found in \(selection.fixturesDirectory)\(selection.filter.map { " matching '\($0)'" } ?? "")")
            throw Exit.checkFailed
        }
        let runner = FixtureRunner(translator: translator, coverage: nil)
        let progress = reporter == .human && fixtures.count > 200 && isatty(2) == 1
        var results: [FixtureResult] = []
        for (n, fixture) in fixtures.enumerated() {
            let r = runner.run(fixture)
            results.append(r)
            if progress && (n % 25 == 0 || n == fixtures.count - 1) {
                Console.err.write("\r\(n + 1)/\(fixtures.count) fixtures, \(results.filter { !$0.passed }.count) failed")
                Console.err.flush()
            }
        }
        if progress { Console.err.write("\n"); Console.err.flush() }
        let renderRunner = RenderFixtureRunner(translator: translator)
        results += renderFixtures.map { renderRunner.run($0).result }
        if let routes = routesResult(translator) { results.append(routes) }
        switch reporter {
        case .human: FixtureReport.human(results)
        case .json: FixtureReport.json(results)
        case .junit: FixtureReport.junit(results)
        }
        Console.out.flush()
        if results.contains(where: { !$0.passed }) { throw Exit.checkFailed }
    }

    /// The routes checked against the mappings; a failed result named `Mappings/routes.yaml` when they
    /// have problems (a route that cannot load or names an unknown participant breaks production as
    /// surely as a wrong mapping).
    private func routesResult(_ translator: Translator) -> FixtureResult? {
        let directory = mappingOptions.mappingsDirectory
        let problems = RoutesLint.check(directory: directory, seeds: translator.seeds, mappings: translator.mappings)
        guard !problems.isEmpty else { return nil }
        let path = directory + "/routes.yaml"
        return FixtureResult(
            fixture: Fixture(folder: "Mappings", name: "routes.yaml", inputPath: path, base: path), problems: problems.map(\.description),
            actualRecords: [], actualRejections: [], seconds: 0)
    }
}
