import ArgumentParser
import Foundation
import GatewayMapping

/// `xgw mappings coverage`: the rules and branches of each mapping the fixtures exercise.
struct MappingsCoverage: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coverage",
        abstract: "Run the fixtures and report which rules and branches of each mapping they exercised.",
        discussion: "Exit 1 when a mapping's coverage is under --min percent.")

    @OptionGroup var selection: FixtureSelection
    @OptionGroup var mappingOptions: MappingOptions

    @Option(name: .long, help: "Minimum coverage per mapping, in percent.")
    var min: Double = 0

    @Flag(name: .long, help: "List the exercised branches too, with their hit counts.")
    var verbose = false

    func run() async throws {
        let translator = try mappingOptions.translator()
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
}
