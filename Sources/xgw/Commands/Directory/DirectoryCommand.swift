import ArgumentParser

/// `xgw directory …`: the alliance's signed directory of nodes (federation.md, "The directory").
struct DirectoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "directory",
        abstract: "Sign, verify and show the alliance's signed directory of nodes (federation.md).",
        subcommands: [DirectorySign.self, DirectoryVerify.self, DirectoryShow.self])
}
