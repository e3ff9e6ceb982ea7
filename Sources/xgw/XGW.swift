import ArgumentParser
import Foundation

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
            RenderCommand.self,
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
            ArchiveCommand.self,
        ]
    )

    /// ArgumentParser's `main`, with the buffered standard output and error (`Console`) written out
    /// whatever way a command ends, so that no command can lose what it printed by forgetting a flush.
    static func main() async {
        do {
            var command = try await asyncParseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            Console.out.flush()
            Console.err.flush()
        } catch {
            Console.out.flush()
            Console.err.flush()
            if let hint = unknownCommand(in: Array(CommandLine.arguments.dropFirst())) {
                Console.error(hint)
                Foundation.exit(Exit.usage.rawValue)
            }
            exit(withError: error)
        }
    }

    /// `xgw fixture test`: names the word that is no subcommand, the closest one and the list
    /// (ArgumentParser only says "Unexpected argument"). Nil when the words before the first option
    /// all name subcommands.
    static func unknownCommand(in arguments: [String]) -> String? {
        var command: any ParsableCommand.Type = XGW.self
        var path = ["xgw"]
        for word in arguments {
            let subcommands = command.configuration.subcommands
            guard !word.hasPrefix("-"), word != "help", !subcommands.isEmpty else { return nil }
            guard let next = subcommands.first(where: { $0._commandName == word }) else {
                let hint = Suggestion.phrase(word, among: subcommands.map { $0._commandName })
                return "\(path.joined(separator: " ")): unknown command '\(word)'; \(hint)"
            }
            command = next
            path.append(word)
        }
        return nil
    }
}
