import GatewayModel
import GatewaySigning

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
