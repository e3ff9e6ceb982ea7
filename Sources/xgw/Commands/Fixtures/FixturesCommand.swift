import ArgumentParser

/// `xgw fixtures …`: `test` and `update` (docs/fixtures.md).
struct FixturesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fixtures",
        abstract: "Prove mappings with fixtures: input documents and their expected output.",
        subcommands: [FixturesTest.self, FixturesUpdate.self])
}
