import Foundation
import GatewayMapping
import GatewayModel

extension TranslateBenchmark {
    /// `xgw bench translate --documents FILE…`: the same measure on documents someone else made,
    /// one row per format (documents grouped by the mapping that reads them). Whole passes over a
    /// format's documents are timed; `records` and `rejected` are per pass.
    public func run(documents: BenchDocuments, output: some BenchmarkOutput) throws {
        try documents.report(output: output)
        output.line("format            documents  records  rejected  bytes/record  records/s    µs/record  cpu µs/record   (records, rejected: per pass)")
        for (format, group) in documents.byFormat {
            var sink = 0
            var records = 0
            var rejected = 0
            func pass() {
                for document in group {
                    _ = translator.translate(document.bytes, mappingID: documents.format) { outcome in
                        records += 1
                        switch outcome {
                        case .translated(_, let record, _): sink &+= record.canonicalBytes().count
                        case .rejected: rejected += 1
                        }
                    }
                }
            }
            let warmUntil = DispatchTime.now().uptimeNanoseconds + 300_000_000
            repeat { pass() } while DispatchTime.now().uptimeNanoseconds < warmUntil
            (records, rejected) = (0, 0)
            var passes = 0
            let cpuStart = CPUTime.thread()
            let start = DispatchTime.now().uptimeNanoseconds
            let end = start + UInt64(max(0, seconds) * 1e9)
            repeat {
                pass()
                passes += 1
            } while DispatchTime.now().uptimeNanoseconds < end
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let cpu = CPUTime.thread() - cpuStart
            let bytes = group.reduce(0) { $0 + $1.bytes.count }
            let perPass = records / passes
            func figures() -> String {
                guard records > 0 else { return "-             -            -          -" }
                let n = Double(records)
                return String(bytes / perPass).padding(toLength: 14, withPad: " ", startingAt: 0)
                    + String(format: "%-12.0f %-10.2f %-14.2f", n / elapsed, elapsed / n * 1e6, cpu / n * 1e6)
            }
            output.line(
                format.padding(toLength: 18, withPad: " ", startingAt: 0)
                    + String(group.count).padding(toLength: 11, withPad: " ", startingAt: 0)
                    + String(perPass).padding(toLength: 9, withPad: " ", startingAt: 0)
                    + String(rejected / passes).padding(toLength: 10, withPad: " ", startingAt: 0)
                    + figures()
                    + (sink == 0 && records > rejected ? " (no output!)" : ""))
            output.flush()
        }
    }
}
