import ArgumentParser
import GatewayMapping

/// The options every command that translates shares.
struct MappingOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Folder of mapping files.", valueName: "DIR"))
    var mappings: String?

    @Option(name: .long, help: ArgumentHelp("Folder of seed data (participants, code tables).", valueName: "DIR"))
    var seeds: String?

    var mappingsDirectory: String { mappings ?? Installation.folder("Mappings") }
    var seedsDirectory: String { seeds ?? Installation.folder("seeds") }

    /// The mappings and seeds folders used, and why (`Installation.describe`).
    var folders: [String] {
        [
            Installation.describe("mappings", given: mappings, option: "--mappings", name: "Mappings"),
            Installation.describe("seeds", given: seeds, option: "--seeds", name: "seeds"),
        ]
    }

    /// Loads the translator, or exits 1 with every configuration problem listed (file:line:column).
    func translator() throws -> Translator {
        do {
            return try Translator.load(mappingsDirectory: mappingsDirectory, seedsDirectory: seedsDirectory)
        } catch {
            for e in error.errors { Console.error("xgw: \(e)") }
            throw Exit.configuration
        }
    }
}
