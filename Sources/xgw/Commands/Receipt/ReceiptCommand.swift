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
            reason code) and accepted otherwise. Items that are not envelopes are reported on standard error: exit 65. \
            With --batch N, every N receipts (the last group may be smaller) are signed with one signature over the \
            root of a Merkle tree, each carrying its signature.batch path (envelope.md, "Batch signatures").
            """)

    @Option(help: ArgumentHelp("Receiving office's private key (PEM).", valueName: "FILE")) var key: String
    @Option(help: ArgumentHelp("Receiving office's certificate (PEM).", valueName: "FILE")) var cert: String
    @Option(help: ArgumentHelp("Receiving office id; default: the certificate's.", valueName: "ID")) var by: String?
    @Option(help: "accepted or rejected; default: from verification with --trust, else accepted.") var outcome: String?
    @Option(help: ArgumentHelp("Reason code of a rejected receipt.", valueName: "CODE")) var reason: String?
    @Option(help: ArgumentHelp("Sign every N receipts as one batch (one signature, a Merkle path each).", valueName: "N"))
    var batch: Int?
    @OptionGroup var trustOptions: TrustOptions
    @Argument(help: ArgumentHelp("Envelope files (JSON or NDJSON); - for standard input.", valueName: "ENVELOPE_FILE"))
    var files: [String] = []

    func validate() throws {
        if let outcome, Receipt.Outcome(rawValue: outcome) == nil { throw ValidationError("--outcome is accepted or rejected") }
        if outcome == "rejected" && reason == nil { throw ValidationError("a rejected receipt needs --reason CODE") }
        if reason != nil && outcome != "rejected" { throw ValidationError("--reason goes with --outcome rejected") }
        if let batch, batch < 1 { throw ValidationError("--batch needs a number of receipts ≥ 1") }
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
        // With --batch: the receipts waiting to be signed as one batch.
        var pending: [Receipt.BatchItem] = []
        func signPending() throws {
            guard !pending.isEmpty else { return }
            for receipt in try Receipt.issueBatch(pending, by: receiver, signer: signer) {
                Console.out.line(receipt.json.canonicalBytes())
            }
            pending.removeAll(keepingCapacity: true)
        }
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
                if let batch {
                    pending.append(Receipt.BatchItem(envelope: envelope, outcome: decided, reason: code))
                    if pending.count == batch { try signPending() }
                    return
                }
                let receipt = try Receipt.issue(for: envelope, by: receiver, outcome: decided, reason: code, signer: signer)
                Console.out.line(receipt.json.canonicalBytes())
            } catch {
                rejected = true
                JSONDocuments.reject(file: file, index: index, error: error)
            }
        }
        try SigningFailure.exit { try signPending() }
        Console.out.flush()
        if !opened { throw Exit.noInput }
        if rejected { throw Exit.dataError }
    }
}
