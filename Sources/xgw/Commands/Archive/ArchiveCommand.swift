import ArgumentParser

/// `xgw archive …`: the retention archive that `xgw serve` writes before it purges (server.md,
/// "Retention and the archive").
struct ArchiveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "archive",
        abstract: "Check the retention archive (<data>/archive) against its manifest.",
        subcommands: [ArchiveVerify.self])
}
