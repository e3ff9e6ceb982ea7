import Foundation
import GatewayModel
import GatewayXML

extension Translator {
    /// Why a file could not be read at all (cli.md: exit 66).
    public struct InputError: Error, Sendable, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "cannot open \(path): \(reason)" }
    }

    /// Translates a document stored in a file. A file up to `maxDocumentBytes` is parsed whole, so a
    /// malformed document yields no record at all; a larger XML file is streamed record by record in
    /// bounded memory (records before a point where the document turns out malformed are still
    /// emitted, followed by the `malformed-document` rejection). A larger JSON file is refused.
    ///
    /// With `stream`, XML files of any size are streamed.
    public func translate(
        file path: String, mappingID: String? = nil, coverage: Coverage? = nil, explain: Bool = false, stream: Bool = false,
        emit: (RecordOutcome) -> Void
    ) throws(InputError) -> DocumentSummary {
        let handle = open(path, O_RDONLY | O_CLOEXEC)
        guard handle >= 0 else { throw InputError(path: path, reason: String(cString: strerror(errno))) }
        var st = stat()
        guard fstat(handle, &st) == 0 else {
            close(handle)
            throw InputError(path: path, reason: String(cString: strerror(errno)))
        }
        let size = Int(st.st_size)
        if (size <= configuration.maxDocumentBytes && !stream) || (st.st_mode & S_IFMT) != S_IFREG {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(max(size, 0))
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = chunk.withUnsafeMutableBytes { read(handle, $0.baseAddress, $0.count) }
                if n < 0 {
                    close(handle)
                    throw InputError(path: path, reason: String(cString: strerror(errno)))
                }
                if n == 0 { break }
                bytes.append(contentsOf: chunk[0..<n])
                if bytes.count > configuration.maxDocumentBytes { break }
            }
            close(handle)
            return translate(bytes, mappingID: mappingID, coverage: coverage, explain: explain, emit: emit)
        }
        var head = [UInt8](repeating: 0, count: 4096)
        let n = head.withUnsafeMutableBytes { read(handle, $0.baseAddress, $0.count) }
        close(handle)
        let forced = mappingID.flatMap { mapping(id: $0) }
        let sniffed = Self.sniff(Array(head.prefix(max(n, 0))))
        if let forced, let error = Self.syntaxMismatch(forced, sniffed) {
            let r = Rejection(index: nil, errors: [error])
            emit(.rejected(r, lineage: []))
            return DocumentSummary(mapping: forced, records: 0, rejected: 1, documentRejection: r)
        }
        let syntax = forced?.syntax ?? sniffed
        if syntax != .xml && size <= configuration.maxDocumentBytes {
            return try translate(file: path, mappingID: mappingID, coverage: coverage, explain: explain, stream: false, emit: emit)
        }
        guard syntax == .xml else {
            let r = Rejection(
                index: nil,
                errors: [
                    RecordError(
                        .malformedDocument,
                        message: "a JSON document larger than \(configuration.maxDocumentBytes) bytes is not accepted (split the batch)")
                ])
            emit(.rejected(r, lineage: []))
            return DocumentSummary(mapping: forced, records: 0, rejected: 1, documentRejection: r)
        }
        return streamXML(path: path, forced: forced, coverage: coverage, explain: explain, emit: emit)
    }

    private func streamXML(
        path: String, forced: Mapping?, coverage: Coverage?, explain: Bool, emit: (RecordOutcome) -> Void
    ) -> DocumentSummary {
        var summary = DocumentSummary(mapping: forced, records: 0, rejected: 0, documentRejection: nil)
        func reject(_ error: RecordError) -> DocumentSummary { summary.reject(error, emit: emit) }
        var options = XMLDocument.Options()
        options.maxDocumentBytes = configuration.maxDocumentBytes
        options.maxDepth = configuration.maxDepth
        do throws(XMLError) {
            let stream = try XMLRecordStream(path: path, options: options)
            guard let root = try stream.peek() else {
                return reject(RecordError(.malformedDocument, message: "the XML document has no root element"))
            }
            let rootNode = XMLSourceNode(node: root)
            guard let mapping = forced ?? mappings.first(where: { $0.syntax == .xml && $0.recognises(xmlRoot: rootNode) }) else {
                return reject(RecordError(.unknownFormat, message: "no mapping recognises an XML document with root element '\(root.localName)'"))
            }
            summary.mapping = mapping
            try stream.selectRecords([mapping.records.text])
            if mapping.sourceError != nil {
                let header = try stream.header().map(XMLSourceNode.init(node:)) ?? rootNode
                if let error = mapping.sourceError(on: header) { return reject(error) }
            }
            var builder = RecordBuilder<XMLSourceNode>(mapping: mapping, coverage: coverage, explain: explain)
            while let record = try stream.next() {
                let outcome = builder.build(XMLSourceNode(node: record.node), index: record.index)
                summary.records += 1
                if case .rejected = outcome { summary.rejected += 1 }
                emit(outcome)
            }
            return summary
        } catch {
            return reject(error.recordError)
        }
    }
}
