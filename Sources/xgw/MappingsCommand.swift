import ArgumentParser
import Foundation
import GatewayMapping

struct MappingsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mappings",
        abstract: "Check mapping files: lint them, and measure what the fixtures exercise.",
        subcommands: [MappingsLint.self, MappingsCoverage.self])
}

struct MappingsLint: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lint",
        abstract: "Check every mapping (and the routes) without running anything.",
        discussion: """
            Every file parses; every member a mapping writes exists in the canonical model and every \
            required member is written; every code table exists in seeds/; XPath expressions compile; \
            JSON Pointers are well-formed. Problems are printed as file:line:column: message; exit 1.
            """)

    @Argument(help: ArgumentHelp("Folder of mapping files (default: the installation's Mappings/).", valueName: "DIR"))
    var directory: String?

    @Option(name: .long, help: ArgumentHelp("Folder of seed data.", valueName: "DIR"))
    var seeds: String?

    @Option(name: .long, help: ArgumentHelp("The canonical JSON Schema.", valueName: "FILE"))
    var schema: String?

    func run() async throws {
        let dir = directory ?? Installation.folder("Mappings")
        let seedsDir = seeds ?? Installation.folder("seeds")
        var problems: [ConfigurationError] = []
        var mappings: [Mapping] = []
        do {
            let s = try Seeds.load(directory: seedsDir)
            do { mappings = try Mapping.loadAll(directory: dir, seeds: s) } catch { problems += error.errors }
            if mappings.isEmpty && problems.isEmpty { problems.append(ConfigurationError(file: dir, message: "no mappings")) }
            let lint = try MappingLint(schemaPath: schema ?? Installation.folder("docs/spec/canonical.schema.json"))
            for m in mappings { problems += lint.check(m) }
            problems += RoutesLint.check(directory: dir, seeds: s, mappings: mappings)
        } catch {
            problems.append(error)
        }
        for p in problems { Console.out.line(p.description) }
        Console.out.line(
            problems.isEmpty
                ? "\(mappings.count) mappings, no problems" : "\(problems.count) problem\(problems.count == 1 ? "" : "s")")
        Console.out.flush()
        if !problems.isEmpty { throw Exit.checkFailed }
    }
}

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
