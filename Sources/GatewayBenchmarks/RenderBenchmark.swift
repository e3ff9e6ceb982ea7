import Foundation
import GatewayMapping
import GatewayModel

/// `xgw bench render` (issue 14, Figures): records/s rendering canonical records into each of the
/// six formats against translating the same records, written in that format, back, in the same
/// run and interleaved (a slice of one, then a slice of the other, so that a machine busy with
/// something else slows both alike), single core.
///
/// Three figures per format: `translate` (the format's documents → canonical records, as a
/// submission does), `render` (canonical records → the format's documents, writing only:
/// `Renderer.render(verify: false)`), and `render+check` (what delivery does: writing, then
/// translating the document back to refuse a record that would not come back equal).
public struct RenderBenchmark {
    public var translator: Translator
    /// Canonical records per kind: the records rendered (cycled to `batch` per format).
    public var records: [String: [JSONValue]]
    /// Records per document (a one-record format, the bulletins, writes one document per record).
    public var batch: Int
    /// Seconds to measure each format for (after a warm-up), shared by the three figures.
    public var seconds: Double

    public init(translator: Translator, records: [String: [JSONValue]], batch: Int, seconds: Double) {
        self.translator = translator
        self.records = records
        self.batch = batch
        self.seconds = seconds
    }

    /// Canonical records per kind: the two synthetic traffic documents translated (`batch`
    /// records each), and every record the fixtures' `*.expected.ndjson` in `fixtures` hold.
    public static func records(translator: Translator, fixtures: String, batch: Int) -> [String: [JSONValue]] {
        var out: [String: [JSONValue]] = [:]
        for document in [SyntheticDocuments.scTraffic(records: batch), SyntheticDocuments.cqTraffic(records: batch)] {
            _ = translator.translate(document) { outcome in
                if case .translated(_, let record, _) = outcome, let kind = record["kind"]?.stringValue { out[kind, default: []].append(record) }
            }
        }
        let fm = FileManager.default
        for folder in ((try? fm.contentsOfDirectory(atPath: fixtures)) ?? []).sorted() {
            for name in ((try? fm.contentsOfDirectory(atPath: fixtures + "/" + folder)) ?? []).sorted() where name.hasSuffix(".expected.ndjson") {
                guard let data = fm.contents(atPath: fixtures + "/" + folder + "/" + name) else { continue }
                for line in data.split(separator: UInt8(ascii: "\n")) {
                    guard let record = try? JSONParser.parse(Array(line)), let kind = record["kind"]?.stringValue,
                        kind != "traffic-violation"
                    else { continue }
                    out[kind, default: []].append(record)
                }
            }
        }
        return out
    }

    /// One format's figures.
    public struct Figures: Sendable {
        public var format: String
        public var recordsPerDocument: Int
        public var bytesPerRecord: Int
        public var translatePerSecond: Double
        public var renderPerSecond: Double
        public var renderCheckedPerSecond: Double
        /// Records refused by the renderer (should be 0: the records are ones the formats carry).
        public var refused: Int
        /// render ÷ translate: the goal is at least 1.
        public var ratio: Double { renderPerSecond / translatePerSecond }
    }

    public func run(output: some BenchmarkOutput) -> [Figures] {
        output.line("format            records/doc  bytes/record  translate/s  render/s    render+check/s  render÷translate  refused")
        var all: [Figures] = []
        for mapping in translator.mappings.sorted(by: { $0.id < $1.id }) {
            guard let figures = measure(mapping) else {
                output.line(mapping.id.padding(toLength: 18, withPad: " ", startingAt: 0) + "(no records of \(mapping.kind), or the mapping cannot render)")
                continue
            }
            all.append(figures)
            output.line(
                figures.format.padding(toLength: 18, withPad: " ", startingAt: 0)
                    + String(figures.recordsPerDocument).padding(toLength: 13, withPad: " ", startingAt: 0)
                    + String(figures.bytesPerRecord).padding(toLength: 14, withPad: " ", startingAt: 0)
                    + String(format: "%-12.0f %-11.0f %-15.0f %-17.2f %d", figures.translatePerSecond, figures.renderPerSecond,
                        figures.renderCheckedPerSecond, figures.ratio, figures.refused))
            output.flush()
        }
        return all
    }

    /// The three figures of one format, nil when there is nothing to render.
    func measure(_ mapping: Mapping) -> Figures? {
        guard let pool = records[mapping.kind], !pool.isEmpty, let renderer = try? Renderer(mapping: mapping) else { return nil }
        let perDocument = Swift.max(1, Swift.min(batch, renderer.batchLimit ?? batch))
        let total = Swift.max(batch, perDocument)
        let cycled = (0..<total).map { pool[$0 % pool.count] }
        let chunks = stride(from: 0, to: cycled.count, by: perDocument).map { Array(cycled[$0..<Swift.min($0 + perDocument, cycled.count)]) }
        // The same records written in the format: what translate reads.
        var documents: [[UInt8]] = []
        var refused = 0
        for chunk in chunks {
            let result = renderer.render(chunk)
            refused += result.refusals.count
            if let document = result.document { documents.append(document) }
        }
        guard !documents.isEmpty else { return nil }
        let rendered = documents.count == chunks.count ? total : total - refused

        var sink = 0
        func translateAll() {
            for document in documents {
                _ = translator.translate(document, mappingID: mapping.id) { outcome in
                    if case .translated(_, let record, _) = outcome { sink &+= record.canonicalBytes().count }
                }
            }
        }
        func renderAll(verify: Bool) {
            for chunk in chunks { sink &+= renderer.render(chunk, verify: verify).document?.count ?? 0 }
        }
        let passes: [() -> Void] = [translateAll, { renderAll(verify: false) }, { renderAll(verify: true) }]

        // Warm-up, then slices of about 50 ms of each in turn until `seconds` have passed.
        let warmUntil = DispatchTime.now().uptimeNanoseconds + 300_000_000
        while DispatchTime.now().uptimeNanoseconds < warmUntil { for pass in passes { pass() } }
        var cpu = [Double](repeating: 0, count: passes.count)
        var counts = [Int](repeating: 0, count: passes.count)
        let end = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
        while DispatchTime.now().uptimeNanoseconds < end {
            for (i, pass) in passes.enumerated() {
                let sliceEnd = DispatchTime.now().uptimeNanoseconds + 50_000_000
                let start = CPUTime.thread()
                repeat {
                    pass()
                    counts[i] += 1
                } while DispatchTime.now().uptimeNanoseconds < sliceEnd
                cpu[i] += CPUTime.thread() - start
            }
        }
        precondition(sink != 0)
        let perSecond = (0..<passes.count).map { Double(counts[$0] * rendered) / Swift.max(cpu[$0], 1e-9) }
        let bytes = documents.reduce(0) { $0 + $1.count } / Swift.max(rendered, 1)
        return Figures(
            format: mapping.id, recordsPerDocument: perDocument, bytesPerRecord: bytes, translatePerSecond: perSecond[0],
            renderPerSecond: perSecond[1], renderCheckedPerSecond: perSecond[2], refused: refused)
    }
}
