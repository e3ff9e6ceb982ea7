import Foundation
import GatewayMapping
import GatewayModel

/// `xgw bench translate`: parse + map + validate + serialize throughput per format on synthetic
/// documents of the two traffic formats, single core.
public struct TranslateBenchmark {
    public var translator: Translator
    /// Records per document.
    public var batch: Int
    /// Seconds to measure each format for (after a warm-up); each comparison takes twice that.
    public var seconds: Double
    /// Rounds of the interleaved comparisons (libxml2 alone, `--stream` vs whole).
    public var rounds: Int
    /// Records in the file of the `--stream` vs whole comparison.
    public var streamRecords: Int

    public init(translator: Translator, batch: Int, seconds: Double, rounds: Int = 6, streamRecords: Int = 5_000) {
        self.translator = translator
        self.batch = batch
        self.seconds = seconds
        self.rounds = max(1, rounds)
        self.streamRecords = max(1, streamRecords)
    }

    /// The table per format, then the two interleaved comparisons of issue 18.
    public func run(output: some BenchmarkOutput) throws {
        runFormats(output: output)
        compareWithLibXML2(output: output)
        try compareStreamWithWhole(output: output)
    }

    func runFormats(output: some BenchmarkOutput) {
        output.line("format            records/doc  bytes/record  records/s    µs/record  cpu µs/record  rejected")
        for (id, document) in [
            ("sc-traffic-xml", SyntheticDocuments.scTraffic(records: batch)),
            ("cq-traffic-json", SyntheticDocuments.cqTraffic(records: batch)),
        ] {
            var sink = 0
            var rejected = 0
            func once() {
                _ = translator.translate(document) { outcome in
                    switch outcome {
                    case .translated(_, let record, _): sink &+= record.canonicalBytes().count
                    case .rejected: rejected += 1
                    }
                }
            }
            let warmUntil = DispatchTime.now().uptimeNanoseconds + 300_000_000
            while DispatchTime.now().uptimeNanoseconds < warmUntil { once() }
            rejected = 0
            var docs = 0
            let cpuStart = CPUTime.thread()
            let start = DispatchTime.now().uptimeNanoseconds
            let end = start + UInt64(seconds * 1e9)
            while DispatchTime.now().uptimeNanoseconds < end {
                once()
                docs += 1
            }
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let cpu = CPUTime.thread() - cpuStart
            let records = Double(docs * batch)
            output.line(
                id.padding(toLength: 18, withPad: " ", startingAt: 0)
                    + String(batch).padding(toLength: 13, withPad: " ", startingAt: 0)
                    + String(document.count / batch).padding(toLength: 14, withPad: " ", startingAt: 0)
                    + String(format: "%-12.0f %-10.2f %-14.2f %d", records / elapsed, elapsed / records * 1e6, cpu / records * 1e6, rejected)
                    + (sink == 0 ? " (no output!)" : ""))
            output.flush()
        }
    }
}
