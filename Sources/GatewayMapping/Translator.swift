import Foundation
import GatewayModel
import GatewayXML

/// Translates regional documents into canonical records with a set of mappings.
///
/// A translator is immutable and can be shared by any number of tasks.
public struct Translator: Sendable {
    public struct Configuration: Sendable {
        /// Largest document parsed in memory (XML and JSON); larger inputs are rejected as
        /// `malformed-document` (the streaming reader handles huge batches).
        public var maxDocumentBytes: Int = 16 << 20
        /// Deepest nesting accepted in a document.
        public var maxDepth: Int = 256
        /// The most memory translating one document may take, in estimated bytes: the parsed
        /// tree (`XMLDocument.Options.maxTreeBytes`) or value (`JSONParser.Options.maxMemoryBytes`)
        /// and the records' outcomes with what the submit path makes of them (answer, envelope);
        /// past it the document is refused whole (`malformed-document` naming the limit) and
        /// nothing of it is emitted. Nil: no budget (`xgw translate`). See `Translator+MemoryBudget`.
        public var maxWorkBytes: Int?
        public init(maxWorkBytes: Int? = nil) { self.maxWorkBytes = maxWorkBytes }
    }

    public let mappings: [Mapping]
    public let seeds: Seeds
    public var configuration: Configuration

    public init(mappings: [Mapping], seeds: Seeds, configuration: Configuration = .init()) {
        self.mappings = mappings
        self.seeds = seeds
        self.configuration = configuration
    }

    /// Loads the seeds and every mapping of a folder.
    public static func load(
        mappingsDirectory: String, seedsDirectory: String, configuration: Configuration = .init()
    ) throws(ConfigurationErrors) -> Translator {
        let seeds: Seeds
        do { seeds = try Seeds.load(directory: seedsDirectory) } catch { throw ConfigurationErrors([error]) }
        return Translator(
            mappings: try Mapping.loadAll(directory: directoryPath(mappingsDirectory), seeds: seeds), seeds: seeds,
            configuration: configuration)
    }

    private static func directoryPath(_ path: String) -> String {
        path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path
    }

    public func mapping(id: String) -> Mapping? { mappings.first { $0.id == id } }

    /// Translates one document, handing each record's outcome to `emit` in document order.
    ///
    /// - Parameters:
    ///   - mappingID: use this mapping instead of detecting one.
    ///   - coverage: counts the rules and branches exercised.
    ///   - explain: collect the lineage of every member.
    public func translate(
        _ bytes: [UInt8], mappingID: String? = nil, coverage: Coverage? = nil, explain: Bool = false,
        emit: (RecordOutcome) -> Void
    ) -> DocumentSummary {
        var summary = DocumentSummary(mapping: nil, records: 0, rejected: 0, documentRejection: nil)
        func reject(_ error: RecordError) -> DocumentSummary { summary.reject(error, emit: emit) }
        var forced: Mapping?
        if let mappingID {
            guard let m = mapping(id: mappingID) else {
                return reject(RecordError(.unknownFormat, message: "no mapping named '\(mappingID)'"))
            }
            forced = m
        }
        if bytes.count > configuration.maxDocumentBytes {
            return reject(
                RecordError(.malformedDocument, message: "the document is larger than the limit of \(configuration.maxDocumentBytes) bytes"))
        }
        let sniffed = Self.sniff(bytes)
        if let forced, let error = Self.syntaxMismatch(forced, sniffed) { return reject(error) }
        let syntax = forced?.syntax ?? sniffed
        switch syntax {
        case .xml:
            let document: XMLDocument
            do {
                var options = XMLDocument.Options()
                options.maxDocumentBytes = configuration.maxDocumentBytes
                options.maxDepth = configuration.maxDepth
                // While parsing, libxml2's copy of the input takes its share of the budget (freed
                // before the records are built): the tree gets what is left.
                options.maxTreeBytes = configuration.maxWorkBytes.map { max(0, $0 - XMLDocument.inputCost(of: bytes)) }
                document = try XMLDocument.parse(bytes, options: options)
            } catch {
                guard error.kind == .tooMuchMemory, let limit = configuration.maxWorkBytes else { return reject(error.recordError) }
                return reject(Self.overBudget(limit, line: error.line, column: error.column))
            }
            guard let root = document.root else {
                return reject(RecordError(.malformedDocument, message: "the XML document has no root element"))
            }
            let rootNode = XMLSourceNode(node: root)
            guard let mapping = forced ?? mappings.first(where: { $0.syntax == .xml && $0.recognises(xmlRoot: rootNode) }) else {
                return reject(
                    RecordError(.unknownFormat, message: "no mapping recognises an XML document with root element '\(root.localName)'"))
            }
            return run(
                mapping, rootNode, parsedBytes: document.estimatedBytes, summary: &summary, coverage: coverage, explain: explain,
                emit: emit)
        case .json:
            let value: JSONValue
            let parsedBytes: Int
            do {
                (value, parsedBytes) = try JSONParser.parseMeasuring(bytes, options: jsonOptions)
            } catch {
                guard case .tooMuchMemory = error.reason, let limit = configuration.maxWorkBytes else { return reject(error.recordError) }
                return reject(Self.overBudget(limit, line: error.line, column: error.column))
            }
            let rootNode = JSONSourceNode(value: value, pointer: "")
            guard let mapping = forced ?? mappings.first(where: { $0.syntax == .json && $0.recognises(jsonRoot: rootNode) }) else {
                return reject(RecordError(.unknownFormat, message: "no mapping recognises this JSON document"))
            }
            return run(mapping, rootNode, parsedBytes: parsedBytes, summary: &summary, coverage: coverage, explain: explain, emit: emit)
        case nil:
            // A scalar at top level (`null`, `42`, `"x"`) is well-formed JSON that no mapping reads
            // records from: unknown, not malformed (issue 17 row 10).
            guard (try? JSONParser.parse(bytes, options: jsonOptions)) != nil else {
                return reject(RecordError(.malformedDocument, message: "the document is neither XML nor JSON"))
            }
            return reject(RecordError(.unknownFormat, message: "no mapping recognises this JSON document"))
        }
    }

    private func run<Node: SourceNode>(
        _ mapping: Mapping, _ root: Node, parsedBytes: Int, summary: inout DocumentSummary, coverage: Coverage?, explain: Bool,
        emit: (RecordOutcome) -> Void
    ) -> DocumentSummary {
        summary.mapping = mapping
        if let error = mapping.sourceError(on: root) { return summary.reject(error, emit: emit) }
        var builder = RecordBuilder<Node>(mapping: mapping, coverage: coverage, explain: explain)
        if let limit = configuration.maxWorkBytes {
            return runWithinBudget(
                limit, used: parsedBytes, root.nodes(mapping.records), builder: &builder, summary: &summary, emit: emit)
        }
        for (index, node) in root.nodes(mapping.records).enumerated() {
            let outcome = builder.build(node, index: index)
            summary.records += 1
            if case .rejected = outcome { summary.rejected += 1 }
            emit(outcome)
        }
        return summary
    }

    /// A forced mapping of one syntax given a document of the other: say so, rather than the
    /// parser error of reading XML as JSON (or JSON as XML).
    static func syntaxMismatch(_ forced: Mapping, _ sniffed: Mapping.Syntax?) -> RecordError? {
        guard let sniffed, sniffed != forced.syntax else { return nil }
        return RecordError(
            .unknownFormat,
            message: "the document is \(sniffed.rawValue.uppercased()) and mapping '\(forced.id)' reads \(forced.syntax.rawValue.uppercased())")
    }

    private var jsonOptions: JSONParser.Options {
        .init(maxDepth: configuration.maxDepth, allowByteOrderMark: true, maxMemoryBytes: configuration.maxWorkBytes)
    }

    /// XML starts with `<`, JSON with `{` or `[` (after a BOM and white space); anything else is
    /// neither, or a JSON scalar (`translate` tells those apart).
    static func sniff(_ bytes: [UInt8]) -> Mapping.Syntax? {
        var i = 0
        if bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF { i = 3 }
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0A || bytes[i] == 0x0D { i += 1 }
        guard i < bytes.count else { return nil }
        switch bytes[i] {
        case UInt8(ascii: "<"): return .xml
        case UInt8(ascii: "{"), UInt8(ascii: "["): return .json
        default: return nil
        }
    }
}

extension Mapping {
    func recognises(xmlRoot root: XMLSourceNode) -> Bool {
        guard let name = detect.root, root.node.localName == name else { return false }
        if let ns = detect.namespace, root.node.namespaceURI != ns { return false }
        return detect.conditions.allSatisfy { $0.holds(on: root) }
    }

    func recognises(jsonRoot root: JSONSourceNode) -> Bool {
        detect.conditions.allSatisfy { $0.holds(on: root) }
    }
}

extension DocumentSummary {
    /// Records a whole-document rejection and hands it to `emit`.
    mutating func reject(_ error: RecordError, emit: (RecordOutcome) -> Void) -> DocumentSummary {
        let r = Rejection(index: nil, errors: [error])
        documentRejection = r
        rejected += 1
        emit(.rejected(r, lineage: []))
        return self
    }
}

extension Mapping {
    /// The `source-error` rejection when the document reports an error of its sending system.
    func sourceError<Node: SourceNode>(on root: Node) -> RecordError? {
        guard let rule = sourceError, !rule.condition.holds(on: root) else { return nil }
        var text = ""
        if let m = rule.message, let t = root.scalar(m).trimmed.plainText { text = ": " + String(t.prefix(200)) }
        return RecordError(.sourceError, message: "the sending system reported an error" + text)
    }
}

extension XMLError {
    /// A document the XML parser refused, as a `malformed-document` error with its position.
    var recordError: RecordError {
        RecordError(.malformedDocument, message: "the XML cannot be parsed: \(message)", line: line, column: column)
    }
}
