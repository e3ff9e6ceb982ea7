import ArgumentParser
import Foundation
import GatewayFederation
import GatewaySigning

/// `xgw directory show FILE`: the directory as a table (serial, times and staleness, the signer, and
/// each node with its url, pins and hosted participants). The signature is checked by `verify`.
struct DirectoryShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show a directory as a table: serial, issuedAt, nextUpdate and staleness, each node's url, pins and hosts.",
        discussion: "The signature is not checked here (xgw directory verify). Exit 1 when the content breaks a rule.")

    @Argument(help: ArgumentHelp("The directory (JSON); - for standard input.", valueName: "FILE"))
    var file: String
    @Option(help: ArgumentHelp("Judge staleness at this instant (RFC 3339) instead of now.", valueName: "TIME"))
    var at: String?

    func run() async throws {
        let time = try DirectoryFile.time(at)
        let signed = try DirectoryFile.read(file)
        let directory: Directory
        do throws(DirectoryError) {
            directory = try signed.content()
        } catch {
            for problem in error.problems { Console.error("xgw: \(file): \(problem)") }
            throw Exit.checkFailed
        }
        let out = Console.out
        out.line("serial      \(directory.serial)")
        out.line("issuedAt    \(directory.issuedAtText)")
        let stale = directory.isStale(at: time)
        out.line("nextUpdate  \(directory.nextUpdateText)  " + (stale ? Console.paint("stale: past nextUpdate", "31") : "current"))
        out.line("signed by   \(signer(signed.signature))")
        out.line("")
        let rows: [[String]] = directory.nodes.flatMap { node in
            var lines = [[node.id, node.url, node.tlsCertificateSha256, node.hosts.joined(separator: ", ")]]
            if let next = node.nextTlsCertificateSha256 { lines.append(["", "", "next " + next, ""]) }
            return lines
        }
        for row in Self.table([["NODE", "URL", "TLS PIN (SHA-256 of DER)", "HOSTS"]] + rows) { out.line(row) }
        out.flush()
    }

    /// `alg`, the root's subject and the keyId, read from the signature (not checked).
    private func signer(_ signature: SignatureBlock) -> String {
        let subject = Data(base64Encoded: signature.certificate).flatMap { try? Certificate(der: [UInt8]($0)) }?.commonName
        return "\(signature.alg) \(subject.map { "\"\($0)\"" } ?? "(unreadable certificate)") keyId \(signature.keyId)  (not checked: xgw directory verify)"
    }

    /// Rows padded into columns two spaces apart (the last column unpadded).
    static func table(_ rows: [[String]]) -> [String] {
        let widths = (0..<(rows.first?.count ?? 0)).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
    }
}
