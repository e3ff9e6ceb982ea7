import ArgumentParser

/// `xgw`: the root of the command tree. Each subcommand lives in `Commands/<name>/` with its own
/// subcommands and helpers; what several share is in `Support/`.
@main
struct XGW: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "xgw",
        abstract: "川渝 cross-region exchange gateway: translate, sign, route and deliver records.",
        version: "0.1.0",
        subcommands: [
            // Subcommands are registered here, one line each.
            TranslateCommand.self,
            FixturesCommand.self,
            MappingsCommand.self,
            RoutesCommand.self,
            BenchCommand.self,
            PkiCommand.self,
            SignCommand.self,
            VerifyCommand.self,
            ReceiptCommand.self,
            ServeCommand.self,
            DirectoryCommand.self,
        ]
    )
}
