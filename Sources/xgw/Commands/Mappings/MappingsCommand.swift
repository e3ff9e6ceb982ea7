import ArgumentParser

/// `xgw mappings …`: `lint` and `coverage`.
struct MappingsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mappings",
        abstract: "Check mapping files: lint them, and measure what the fixtures exercise.",
        subcommands: [MappingsLint.self, MappingsCoverage.self])
}
