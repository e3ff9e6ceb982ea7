import ArgumentParser
import GatewayModel
import GatewaySigning

/// `xgw receipt`: signed receipts (envelope.md) for received envelopes, NDJSON on standard output.
struct ReceiptCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "receipt",
        abstract: "Issue signed receipts for envelopes (one per envelope, NDJSON).",
        discussion: """
            Without --outcome, each envelope is verified when --trust is given (accepted, or rejected with the \
            reason code) and accepted otherwise. Items that are not envelopes are reported on standard error: exit 65.
            """)

    @Option(help: ArgumentHelp("Receiving office's private key (PEM).", valueName: "FILE")) var key: String
    @Option(help: ArgumentHelp("Receiving office's certificate (PEM).", valueName: "FILE")) var cert: String
    @Option(help: ArgumentHelp("Receiving office id; default: the certificate's.", valueName: "ID")) var by: String?
    @Option(help: "accepted or rejected; default: from verification with --trust, else accepted.") var outcome: String?
    @Option(help: ArgumentHelp("Reason code of a rejected receipt.", valueName: "CODE")) var reason: String?
    @OptionGroup var trustOptions: TrustOptions
    @Argument(help: ArgumentHelp("Envelope files (JSON or NDJSON); - for standard input.", valueName: "ENVELOPE_FILE"))
    var files: [String] = []

    func validate() throws {
        if let outcome, Receipt.Outcome(rawValue: outcome) == nil { throw ValidationError("--outcome is accepted or rejected") }
        if outcome == "rejected" && reason == nil { throw ValidationError("a rejected receipt needs --reason CODE") }
        if reason != nil && outcome != "rejected" { throw ValidationError("--reason goes with --outcome rejected") }
    }

    func run() async throws {
        var signer: Signer?
        try SigningFailure.exit { signer = try Signer(keyFile: key, certificateFile: cert) }
        guard let signer else { throw Exit.software }
        let receiver = by ?? signer.officeIDs.first ?? ""
        guard signer.officeIDs.contains(receiver) else {
            throw ValidationError("the certificate is not for office '\(receiver)'")
        }
        let trust = trustOptions.isGiven && outcome == nil ? try trustOptions.store() : nil
        let time = try trustOptions.time()
        var rejected = false
        let opened = JSONDocuments.each(in: files) { file, index, document in
            do {
                let envelope = try Envelope(json: try document.get())
                guard envelope.id != nil, envelope.payloadDigest != nil else {
                    throw VerificationFailure(.malformedEnvelope, "the envelope has no id or payload digest")
                }
                var decided = outcome.flatMap(Receipt.Outcome.init(rawValue:)) ?? .accepted
                var code = reason.map { VerificationFailure.Code(rawValue: $0) }
                if let trust, case .failure(let failure) = envelope.verify(trust: trust, at: time) {
                    decided = .rejected
                    code = failure.code
                }
                let receipt = try Receipt.issue(for: envelope, by: receiver, outcome: decided, reason: code, signer: signer)
                Console.out.line(receipt.json.canonicalBytes())
            } catch {
                rejected = true
                JSONDocuments.reject(file: file, index: index, error: error)
            }
        }
        if !opened { throw Exit.noInput }
        if rejected { throw Exit.dataError }
    }
}
