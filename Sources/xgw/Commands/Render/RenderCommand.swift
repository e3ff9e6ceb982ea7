import ArgumentParser
import Foundation
import GatewayMapping
import GatewayModel

/// `xgw render`: canonical records (or envelopes) in, regional documents out (issue 14, the way
/// back of `translate`; docs/rendering.md).
struct RenderCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Render canonical records into a regional format (one document on standard output).",
        discussion: """
            Input: canonical records as NDJSON (or one JSON record), or envelopes (their payload is rendered; \
            signatures are not checked here: use xgw verify). Each document is translated back before it is \
            written, and a record that would not come back equal (outside the members the format declares \
            lossy, listed by xgw mappings coverage --render) is refused on standard error, one rejection line \
            per record, never half-written. Several documents (--batch, or a one-record format such as \
            sc-bulletin-xml given several records) need --output DIR. Exit status: 0 when every record was \
            rendered, 65 when any was refused, 66 when the input cannot be opened, 64 for an unknown format.
            """)

    @Option(name: .long, help: ArgumentHelp("The regional format (a mapping id such as cq-traffic-json).", valueName: "ID"))
    var format: String

    @Option(name: .long, help: ArgumentHelp("Records per document (at most what the format holds).", valueName: "N"))
    var batch: Int?

    @Option(name: .long, help: ArgumentHelp("Write each document to this folder as <format>-0001.<xml|json>, ….", valueName: "DIR"))
    var output: String?

    @OptionGroup var mappingOptions: MappingOptions

    @Argument(help: ArgumentHelp("Canonical NDJSON or envelopes; - for standard input.", valueName: "FILE"))
    var file: String = "-"

    func validate() throws {
        if let batch, batch < 1 { throw ValidationError("--batch must be at least 1") }
    }

    func run() async throws {
        let translator = try mappingOptions.translator()
        guard let mapping = translator.mapping(id: format) else {
            throw ValidationError(
                "no mapping '\(format)' in \(mappingOptions.mappingsDirectory); " + Suggestion.phrase(format, among: translator.mappings.map(\.id)))
        }
        let renderer: Renderer
        do {
            renderer = try Renderer(mapping: mapping)
        } catch {
            Console.error("xgw: \(error)")
            throw Exit.configuration
        }
        let bytes: [UInt8]
        do { bytes = try readInput(file) } catch {
            Console.error("xgw: cannot open \(file)")
            throw Exit.noInput
        }
        var records: [(index: Int, record: JSONValue)] = []
        var refused = false
        for (index, document) in JSONDocuments.split(bytes) {
            switch document {
            case .success(let value): records.append((index, Self.record(in: value)))
            case .failure(let error):
                JSONDocuments.reject(file: file, index: index, error: error)
                refused = true
            }
        }
        let size = Swift.max(1, Swift.min(batch ?? Int.max, renderer.batchLimit ?? Int.max, Swift.max(records.count, 1)))
        let chunks = stride(from: 0, to: records.count, by: size).map { Array(records[$0..<Swift.min($0 + size, records.count)]) }
        if chunks.count > 1 && output == nil {
            throw ValidationError(
                "\(records.count) records make \(chunks.count) documents of \(format) (at most \(size) each): give --output DIR")
        }
        var written = 0
        for chunk in chunks {
            let result = renderer.render(chunk.map(\.record))
            for refusal in result.refusals {
                var r = refusal
                r.index = refusal.index.map { chunk[$0].index }
                Console.out.flush()
                Console.err.line(r.json(file: file).canonicalBytes())
                Console.err.flush()
                refused = true
            }
            guard let document = result.document else { continue }
            written += 1
            if let output {
                let name = String(format: "%@/%@-%04d.%@", output, format, written, mapping.syntax.rawValue)
                do { try Self.write(document, to: name) } catch {
                    Console.error("xgw: cannot write \(name): \(error)")
                    throw Exit.ioError
                }
                Console.out.line(name)
            } else {
                Console.out.write(document)
            }
        }
        Console.out.flush()
        if refused { throw Exit.dataError }
    }

    /// The canonical record of an input document: the record itself, an envelope's payload, or a
    /// lease answer message's envelope's payload.
    static func record(in value: JSONValue) -> JSONValue {
        if let payload = value["payload"], payload.objectValue != nil { return payload }
        if let payload = value["envelope"]?["payload"], payload.objectValue != nil { return payload }
        return value
    }

    /// Written beside, then renamed: a reader polling the folder never sees half a document.
    static func write(_ bytes: [UInt8], to path: String) throws {
        let folder = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let temporary = folder + "/." + (path as NSString).lastPathComponent + ".tmp"
        try Data(bytes).write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, path) == 0 else { throw CocoaError(.fileWriteUnknown) }
    }
}
