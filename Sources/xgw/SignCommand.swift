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
            Example: xgw translate doc.xml | xgw sign --key k.pem --cert c.pem --to renshi | xgw verify --trust ca.pem -
            """)

    @Option(help: ArgumentHelp("Office private key (PEM).", valueName: "FILE")) var key: String
    @Option(help: ArgumentHelp("Office certificate (PEM).", valueName: "FILE")) var cert: String
    @Option(help: ArgumentHelp("Sending office id; default: the certificate's urn:xgw:office: id.", valueName: "ID"))
    var from: String?
    @Option(help: ArgumentHelp("Receiving office ids, comma-separated.", valueName: "ID[,ID]")) var to: String
    @Option(help: "Expected algorithm of the key (it is taken from the key; a different one is a usage error).")
    var alg: SignatureAlgorithm?
    @Argument(help: ArgumentHelp("Canonical NDJSON files; - or nothing for standard input.", valueName: "FILE"))
    var files: [String] = []

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
        let opened = JSONDocuments.each(in: files) { file, index, document in
            do {
                let record = try document.get()
                guard record["kind"]?.stringValue != nil, record["recordId"]?.stringValue != nil else {
                    throw RecordError(.missingField, path: "/recordId", message: "a canonical record needs kind and recordId")
                }
                let envelope = try Envelope.seal(record: record, from: sender, to: recipients, signer: signer)
                Console.out.line(envelope.canonicalBytes())
            } catch {
                rejected = true
                JSONDocuments.reject(file: file, index: index, error: error)
            }
        }
        if !opened { throw Exit.noInput }
        if rejected { throw Exit.dataError }
    }
}

/// Reading files that hold one JSON document or many as NDJSON, and reporting bad ones.
enum JSONDocuments {
    /// Calls `body` with every document of every file (standard input for `-` or when `files` is
    /// empty), then flushes standard output. Returns false when a file could not be opened.
    static func each(in files: [String], _ body: (_ file: String, _ index: Int, Result<JSONValue, any Error>) -> Void) -> Bool {
        var opened = true
        for file in files.isEmpty ? ["-"] : files {
            guard let bytes = try? readInput(file) else {
                Console.error("xgw: cannot open \(file)")
                opened = false
                continue
            }
            for (index, document) in split(bytes) { body(file, index, document) }
        }
        Console.out.flush()
        return opened
    }

    /// The documents of `bytes` with their 0-based index: the whole input when it is one JSON
    /// value, else one per non-blank line.
    static func split(_ bytes: [UInt8]) -> [(Int, Result<JSONValue, any Error>)] {
        if let whole = try? JSONParser.parse(bytes) { return [(0, .success(whole))] }
        var documents: [(Int, Result<JSONValue, any Error>)] = []
        var start = 0
        var index = 0
        while start < bytes.count {
            let end = bytes[start...].firstIndex(of: 0x0A) ?? bytes.count
            var line = bytes[start..<end]
            if line.last == 0x0D { line = line.dropLast() }
            if line.contains(where: { $0 != 0x20 && $0 != 0x09 }) {
                documents.append((index, Result { try JSONParser.parse(line) }))
                index += 1
            }
            start = end + 1
        }
        return documents
    }

    /// One rejection line on standard error, in cli.md's shape (messages never quote content).
    static func reject(file: String, index: Int, error: any Error) {
        let recordError: RecordError = switch error {
        case let error as RecordError: error
        case let error as JSONParseError:
            RecordError(.malformedDocument, message: error.description, line: error.line, column: error.column)
        case let error as SigningError: RecordError(RecordError.Code(rawValue: error.code.rawValue), message: error.message)
        case let error as VerificationFailure: RecordError(RecordError.Code(rawValue: error.code.rawValue), message: error.message)
        default: RecordError(.malformedDocument, message: "\(type(of: error))")
        }
        let line = JSONValue.object(JSONObject([
            "file": .string(file), "index": .number(JSONNumber(index)), "errors": .array([recordError.json]),
        ]))
        Console.out.flush()
        Console.err.line(line.canonicalBytes())
        Console.err.flush()
    }
}
