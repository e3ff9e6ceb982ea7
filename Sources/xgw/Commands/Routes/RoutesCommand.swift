import ArgumentParser

/// `xgw routes …`: `test`.
struct RoutesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "routes",
        abstract: "Inspect the routing rules of Mappings/routes.yaml.",
        subcommands: [RoutesTest.self])
}
