import ArgumentParser
import Foundation
import GatewayMapping

/// `xgw mappings coverage`: the rules and branches of each mapping the fixtures exercise.
struct MappingsCoverage: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coverage",
        abstract: "Run the fixtures and report which rules and branches of each mapping they exercised.",
        discussion: """
            Exit 1 when a mapping's coverage is under --min percent. With --render, list instead what each \
            format cannot carry when canonical records are rendered into it (render.lossy), and check that \
            every mapping has its way back (exit 1 when one has not).
            """)

    @OptionGroup var selection: FixtureSelection
    @OptionGroup var mappingOptions: MappingOptions

    @Option(name: .long, help: "Minimum coverage per mapping, in percent.")
    var min: Double = 0

    @Flag(name: .long, help: "List the exercised branches too, with their hit counts.")
    var verbose = false

    @Flag(name: .long, help: "List the members each format declares lossy when rendering (render.lossy).")
    var render = false

    func run() async throws {
        let translator = try mappingOptions.translator()
        if render { return try listLossy(translator) }
        let coverage = Coverage()
        let runner = FixtureRunner(translator: translator, coverage: coverage)
        for fixture in selection.selected() { _ = runner.run(fixture) }
        var below: [String] = []
        for mapping in translator.mappings {
            let counts = coverage.counts(for: mapping)
            let hit = counts.filter { $0 > 0 }.count
            let percent = counts.isEmpty ? 100 : Double(hit) * 100 / Double(counts.count)
            let line = String(format: "%@  %d/%d branches  %.1f%%", mapping.id, hit, counts.count, percent)
            Console.out.line(percent < min ? Console.paint(line, "31") : line)
            for (i, name) in mapping.branchNames.enumerated() where counts[i] == 0 || verbose {
                let mark = counts[i] == 0 ? Console.paint("never", "33") : "\(counts[i])×"
                Console.out.line("    \(mapping.file):\(name.line): \(name.description)  \(mark)")
            }
            if percent < min { below.append(mapping.id) }
        }
        Console.out.flush()
        if !below.isEmpty {
            Console.error("xgw: coverage under \(min)% for \(below.joined(separator: ", "))")
            throw Exit.checkFailed
        }
    }

    /// `--render`: per mapping, the canonical members rendering into it loses, with the reason.
    private func listLossy(_ translator: Translator) throws {
        var broken = false
        for mapping in translator.mappings {
            do {
                _ = try Renderer(mapping: mapping)
            } catch {
                Console.out.line(Console.paint("\(mapping.id)  no way back: \(error)", "31"))
                broken = true
                continue
            }
            let lossy = mapping.render.lossy
            Console.out.line("\(mapping.id)  \(lossy.isEmpty ? "nothing lossy" : "\(lossy.count) lossy member(s)")")
            for l in lossy { Console.out.line("    \(mapping.file):\(l.line): \(l.member)  \(l.reason)") }
        }
        Console.out.flush()
        if broken { throw Exit.checkFailed }
    }
}
