import ArgumentParser
import Foundation
import GatewayModel
import GatewaySigning

/// `xgw verify`: checks envelopes and receipts (cli.md): `ok <id>` or `fail <id> <reason-code>`; a
/// receipt that verifies adds what it says of the envelope: `ok <id> accepted` or `ok <id> rejected <reason>`.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify signed envelopes and receipts; prints ok <id> or fail <id> <reason-code> per item.",
        discussion: """
            A file holds one JSON envelope or receipt, or many as NDJSON. Both signature forms are accepted: \
            single, and batch (signature.batch, envelope.md), whose statement is checked once per batch. A receipt is named by its envelopeId; an \
            item whose id cannot be read is named -. A receipt that verifies prints its outcome after the id: \
            ok <id> accepted, or ok <id> rejected <reason> (the signature is good; the receiver refused the envelope). \
            Reason codes: malformed-envelope, unsupported-algorithm, \
            algorithm-mismatch, untrusted-certificate, expired-certificate, not-yet-valid-certificate, \
            revoked-certificate, bad-signature, sender-mismatch, digest-mismatch. Exit 0 when all verify, 1 \
            otherwise, 66 when a file cannot be opened.
            """)

    @OptionGroup var trustOptions: TrustOptions
    @Flag(name: .shortAndLong, help: "Explain each failure on standard error.") var verbose = false
    @Argument(help: ArgumentHelp("Envelope or receipt files; - or nothing for standard input.", valueName: "FILE"))
    var files: [String] = []

    func run() async throws {
        let trust = try trustOptions.store()
        let time = try trustOptions.time()
        trustOptions.warnAboutStaleCRLs(trust, at: time)
        var failed = false
        let opened = JSONDocuments.each(in: files) { _, _, document in
            let (id, result) = Self.verify(document, trust: trust, at: time)
            switch result {
            case .success(let outcome):
                Console.out.line(outcome.map { "ok \(id) \($0)" } ?? "ok \(id)")
            case .failure(let failure):
                failed = true
                Console.out.line("fail \(id) \(failure.code)")
                if verbose { Console.error("xgw: \(id): \(failure.message)") }
            }
        }
        if !opened { throw Exit.noInput }
        if failed { throw Exit.checkFailed }
    }

    /// Verifies one parsed document as an envelope or a receipt; returns its id (or `-`) and the
    /// outcome: for a receipt that verifies, what it says (`accepted`, `rejected <reason>`), nil for an envelope.
    static func verify(
        _ document: Result<JSONValue, any Error>, trust: TrustStore, at time: Date
    ) -> (String, Result<String?, VerificationFailure>) {
        guard case .success(let json) = document else {
            return ("-", .failure(VerificationFailure(.malformedEnvelope, "not JSON")))
        }
        do {
            if json["receipt"] != nil {
                let receipt = try Receipt(json: json)
                let said = [receipt.outcome?.rawValue, receipt.outcome == .rejected ? receipt.reason : nil].compactMap { $0 }
                return (receipt.envelopeId ?? "-", receipt.verify(trust: trust, at: time).map { _ in said.joined(separator: " ") })
            }
            let envelope = try Envelope(json: json)
            return (envelope.id ?? "-", envelope.verify(trust: trust, at: time).map { _ in nil })
        } catch {
            let id = json["envelope"]?["id"]?.stringValue ?? json["receipt"]?["envelopeId"]?.stringValue ?? "-"
            return (id, .failure(error))
        }
    }
}
