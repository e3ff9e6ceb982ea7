import ArgumentParser
import Foundation
import GatewayModel
import GatewaySigning

/// `xgw sign`: canonical records in, signed envelopes out (envelope.md), both NDJSON.
struct SignCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign",
        abstract: "Seal canonical records (NDJSON, as xgw translate writes them) into signed envelopes (NDJSON).",
        discussion: """
            Each envelope carries the record as its payload, a UUIDv7 id, kind and recordId from the record, \
            the payload digest and the signature over the JCS header. A line that is not a record is reported \
            on standard error (cli.md's rejection shape) and the others are still signed: exit 65. \
            With --batch N, every N records (the last group may be smaller) are signed with one signature over \
            the root of a Merkle tree, each envelope carrying its signature.batch path (envelope.md, "Batch \
            signatures"). Example: xgw translate doc.xml | xgw sign --key k.pem --cert c.pem --to renshi | xgw verify --trust ca.pem -
            """)

    @Option(help: ArgumentHelp("Office private key (PEM).", valueName: "FILE")) var key: String
    @Option(help: ArgumentHelp("Office certificate (PEM).", valueName: "FILE")) var cert: String
    @Option(help: ArgumentHelp("Sending office id; default: the certificate's urn:xgw:office: id.", valueName: "ID"))
    var from: String?
    @Option(help: ArgumentHelp("Receiving office ids, comma-separated.", valueName: "ID[,ID]")) var to: String
    @Option(help: "Expected algorithm of the key (it is taken from the key; a different one is a usage error).")
    var alg: SignatureAlgorithm?
    @Option(help: ArgumentHelp("Sign every N envelopes as one batch (one signature, a Merkle path each).", valueName: "N"))
    var batch: Int?
    @Argument(help: ArgumentHelp("Canonical NDJSON files; - or nothing for standard input.", valueName: "FILE"))
    var files: [String] = []

    func validate() throws {
        if let batch, batch < 1 { throw ValidationError("--batch needs a number of envelopes ≥ 1") }
    }

    func run() async throws {
        var signer: Signer?
        try SigningFailure.exit { signer = try Signer(keyFile: key, certificateFile: cert) }
        guard let signer else { throw Exit.software }
        if let alg, alg != signer.algorithm {
            throw ValidationError("--alg \(alg) but the key is \(signer.algorithm)")
        }
        let sender = from ?? signer.officeIDs.first ?? ""
        guard signer.officeIDs.contains(sender) else {
            throw ValidationError("the certificate is not for office '\(sender)' (it names \(signer.officeIDs.joined(separator: ", ")))")
        }
        let recipients = to.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !recipients.isEmpty else { throw ValidationError("--to needs at least one office id") }

        var rejected = false
        // With --batch: the records waiting to be signed as one batch (each already checked).
        var pending: [JSONValue] = []
        func signPending() throws {
            guard !pending.isEmpty else { return }
            for envelope in try Envelope.sealBatch(records: pending, from: sender, to: recipients, signer: signer) {
                Console.out.line(envelope.canonicalBytes())
            }
            pending.removeAll(keepingCapacity: true)
        }
        let opened = JSONDocuments.each(in: files) { file, index, document in
            do {
                let record = try document.get()
                guard record["kind"]?.stringValue != nil, record["recordId"]?.stringValue != nil else {
                    throw RecordError(.missingField, path: "/recordId", message: "a canonical record needs kind and recordId")
                }
                if let batch {
                    pending.append(record)
                    if pending.count == batch { try signPending() }
                    return
                }
                let envelope = try Envelope.seal(record: record, from: sender, to: recipients, signer: signer)
                Console.out.line(envelope.canonicalBytes())
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
