import ArgumentParser
import GatewayMapping

/// `xgw mappings lint`: every mapping and the routes checked without translating anything.
struct MappingsLint: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lint",
        abstract: "Check every mapping (and the routes) without running anything.",
        discussion: """
            Every file parses; every member a mapping writes exists in the canonical model and every \
            required member is written; every value an enum, lookup, constant or cases writes is one the \
            schema allows; no two mappings recognise the same documents; every code table exists in seeds/; \
            XPath expressions compile; JSON Pointers are well-formed; the routes name known participants, \
            kinds and formats. The first line names the folders used. Problems are printed as \
            file:line:column: message; exit 1.
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
        let schemaFile = schema ?? Installation.folder("docs/spec/canonical.schema.json")
        Console.out.line(
            "using " + [
                Installation.describe("mappings", given: directory, option: "argument", name: "Mappings"),
                Installation.describe("seeds", given: seeds, option: "--seeds", name: "seeds"),
                Installation.describe("schema", given: schema, option: "--schema", name: "docs/spec/canonical.schema.json"),
            ].joined(separator: ", "))
        var problems: [ConfigurationError] = []
        var mappings: [Mapping] = []
        do {
            let s = try Seeds.load(directory: seedsDir)
            // The files that load are checked, and the routes against them, even when another is broken.
            let loaded = Mapping.loadEach(directory: dir, seeds: s)
            mappings = loaded.mappings
            problems += loaded.errors
            if mappings.isEmpty && problems.isEmpty { problems.append(ConfigurationError(file: dir, message: "no mappings")) }
            let lint = try MappingLint(schemaPath: schemaFile)
            for m in mappings { problems += lint.check(m) }
            problems += MappingLint.overlappingDetections(mappings)
            problems += RoutesLint.check(directory: dir, seeds: s, mappings: mappings, mappingsComplete: loaded.errors.isEmpty)
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
