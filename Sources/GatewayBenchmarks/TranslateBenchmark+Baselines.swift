import CLibXML2
import Foundation
import GatewayMapping
import GatewayModel

/// The two issue-18 ratios of `xgw bench translate`, each measured interleaved in one run (rounds
/// that alternate the contenders, thread CPU time summed per contender), so that the load of the
/// machine weighs on both sides alike:
/// - sc-traffic-xml translation (parse, map, validate, serialize) against libxml2 alone parsing the
///   same documents through the same C module (`xmlReadMemory` with the parser options the
///   gateway uses, then `xmlFreeDoc`): how close translation is to its parser;
/// - `--stream` translation of one file against whole-document translation of the same file
///   (both through `Translator.translate(file:)`).
extension TranslateBenchmark {
    /// One side of an interleaved comparison: `run` does one unit of work of `records` records.
    struct Contender {
        let name: String
        let records: Int
        let run: () -> Void
    }

    /// What one contender did over all rounds.
    struct Tally {
        var records = 0
        var cpu = 0.0
        var wall = 0.0
        var recordsPerCPUSecond: Double { cpu > 0 ? Double(records) / cpu : 0 }
        var cpuMicrosPerRecord: Double { records > 0 ? cpu / Double(records) * 1e6 : 0 }
    }

    /// Runs the contenders in `rounds` rounds of `seconds / rounds` each, alternating (and
    /// reversing the order every other round), after a warm-up of each.
    static func interleaved(_ contenders: [Contender], seconds: Double, rounds: Int) -> [Tally] {
        for c in contenders {
            let warmUntil = DispatchTime.now().uptimeNanoseconds + 200_000_000
            repeat { c.run() } while DispatchTime.now().uptimeNanoseconds < warmUntil
        }
        var tallies = [Tally](repeating: Tally(), count: contenders.count)
        let slice = UInt64(seconds / Double(rounds) / Double(contenders.count) * 1e9)
        for round in 0..<rounds {
            let order = round % 2 == 0 ? Array(contenders.indices) : contenders.indices.reversed()
            for i in order {
                let cpuStart = CPUTime.thread()
                let start = DispatchTime.now().uptimeNanoseconds
                repeat {
                    contenders[i].run()
                    tallies[i].records += contenders[i].records
                } while DispatchTime.now().uptimeNanoseconds - start < slice
                tallies[i].wall += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                tallies[i].cpu += CPUTime.thread() - cpuStart
            }
        }
        return tallies
    }

    static func report(_ tallies: [Tally], names: [String], ratio label: String, goal: Double, output: some BenchmarkOutput) {
        for (name, t) in zip(names, tallies) {
            output.line(
                "  " + name.padding(toLength: 28, withPad: " ", startingAt: 0)
                    + String(format: "%9.0f records/s per core  %7.2f cpu µs/record  (%.0f records/s wall)",
                             t.recordsPerCPUSecond, t.cpuMicrosPerRecord, Double(t.records) / max(t.wall, 1e-9)))
        }
        let ratio = tallies[0].recordsPerCPUSecond / max(tallies[1].recordsPerCPUSecond, 1e-9)
        output.line("  " + label.padding(toLength: 28, withPad: " ", startingAt: 0) + String(format: "%9.2f  (issue 18 goal ≥ %.2f)", ratio, goal))
        output.flush()
    }

    /// sc-traffic-xml translation against libxml2 parsing the same document alone.
    func compareWithLibXML2(output: some BenchmarkOutput) {
        let document = SyntheticDocuments.scTraffic(records: batch)
        var sink = 0
        let translate = Contender(name: "translate", records: batch) {
            _ = translator.translate(document) { outcome in
                if case .translated(_, let record, _) = outcome { sink &+= record.canonicalBytes().count }
            }
        }
        xmlInitParser()
        let options = Int32(bitPattern: XML_PARSE_NONET.rawValue | XML_PARSE_NOCDATA.rawValue | XML_PARSE_COMPACT.rawValue
            | XML_PARSE_BIG_LINES.rawValue | XML_PARSE_NOXINCNODE.rawValue | XML_PARSE_NOBLANKS.rawValue)
        let parse = Contender(name: "libxml2", records: batch) {
            document.withUnsafeBytes { bytes in
                guard let doc = xmlReadMemory(
                    bytes.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(bytes.count), nil, nil, options) else { return }
                sink &+= Int(bitPattern: UInt(bitPattern: xmlDocGetRootElement(doc))) & 1
                xmlFreeDoc(doc)
            }
        }
        output.line("")
        output.line("sc-traffic-xml, \(batch)-record documents, translate vs libxml2 alone parsing them (interleaved, \(rounds) rounds):")
        let tallies = Self.interleaved([translate, parse], seconds: seconds * 2, rounds: rounds)
        Self.report(
            tallies, names: ["translate + serialize", "libxml2 xmlReadMemory alone"], ratio: "translate / libxml2", goal: 0.45,
            output: output)
        if sink == 0 { output.line("  (no output!)") }
    }

    /// `--stream` against whole-document translation of one sc-traffic-xml file.
    func compareStreamWithWhole(output: some BenchmarkOutput) throws {
        let path = FileManager.default.temporaryDirectory.path + "/xgw-bench-stream-\(getpid()).xml"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let records = try LargeBatchBenchmark.generate(path: path, bytes: streamRecords * 690)
        var sink = 0
        var failed = false
        func contender(_ name: String, stream: Bool) -> Contender {
            Contender(name: name, records: records) {
                do {
                    _ = try translator.translate(file: path, stream: stream) { outcome in
                        switch outcome {
                        case .translated(_, let record, _): sink &+= record.canonicalBytes().count
                        case .rejected: failed = true
                        }
                    }
                } catch {
                    failed = true
                }
            }
        }
        output.line("")
        output.line("sc-traffic-xml, one file of \(records) records, --stream vs whole-document translation (interleaved, \(rounds) rounds):")
        let tallies = Self.interleaved(
            [contender("--stream", stream: true), contender("whole", stream: false)], seconds: seconds * 2, rounds: rounds)
        Self.report(
            tallies, names: ["translate --stream", "translate whole document"], ratio: "stream / whole", goal: 0.90, output: output)
        if sink == 0 || failed { output.line("  (rejections or no output!)") }
    }
}
