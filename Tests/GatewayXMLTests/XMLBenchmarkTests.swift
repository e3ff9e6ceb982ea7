import CLibXML2
import Foundation
import Testing
@testable import GatewayXML

/// CPU time of the calling thread (seconds): steadier than wall time on a busy machine.
func cpuSeconds(_ body: () throws -> Void) rethrows -> Double {
    var start = timespec()
    var end = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &start)
    try body()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &end)
    return Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) / 1e9
}

/// Throughput figures for the translate pipeline's XML side (thread CPU time, one core). Run with `XGW_BENCH=1`, preferably in
/// release (`swift test -c release -Xswiftc -enable-testing --filter XMLBenchmarkTests`); each test
/// prints its figures and checks a floor loose enough for a debug build on a busy machine.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["XGW_BENCH"] == "1"))
struct XMLBenchmarkTests {
    static let fields = [
        "xh", "hphm", "hpzl", "wfsj", "xzqh", "wfdz", "wfxw", "wfxwmc", "fkje", "wfjfs", "cjfs", "dsr", "jszh",
        "cjjg", "cjjgmc", "clbj", "jkbj", "gxsj",
    ]

    static func batch(_ records: Int) -> [UInt8] {
        var text = trafficHead
        for i in 0..<records { text += trafficRecord(i) }
        text += "  </body>\n</root>\n"
        return Array(text.utf8)
    }

    @Test func parseAndReadEighteenFields() throws {
        let records = 2_000
        let bytes = Self.batch(records)
        let paths = try Self.fields.map { try XMLPath($0) }
        let recordPath = try XMLPath("body/vio")
        var doc: XMLDocument?
        let parse = try cpuSeconds { doc = try XMLDocument.parse(bytes) }
        // The same parse straight through libxml2 (same options, none of our hooks), for comparison.
        let plain = cpuSeconds {
            bytes.withUnsafeBytes { buffer in
                let d = xmlReadMemory(
                    buffer.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(buffer.count), nil, nil,
                    ParseGuard.parserOptions(ignoreBlankText: true))
                xmlFreeDoc(d)
            }
        }
        let root = try #require(doc?.root)
        let nodes = recordPath.nodes(from: root)
        #expect(nodes.count == records)
        var total = 0
        let rounds = 5
        let read = cpuSeconds {
            for _ in 0..<rounds {
                for node in nodes {
                    for path in paths { total += path.string(from: node)?.utf8.count ?? 0 }
                }
            }
        }
        let perField = read / Double(rounds * records * paths.count) * 1e9
        let perRecord = parse / Double(records) * 1e6
        print("XML bench: \(bytes.count / records) B/record; DOM parse \(Int(perRecord * 1000)) ns/record "
            + "(\(Int(Double(records) / parse)) records/s; plain xmlReadMemory \(Int(plain / Double(records) * 1e9)) ns/record); simple path string \(Int(perField)) ns/field; "
            + "parse + 18 fields \(Int(Double(records) / (parse + read / Double(rounds)))) records/s")
        #expect(total > 0)
        #expect(perField < 5_000)
    }

    @Test func xpathEngineCostPerField() throws {
        let bytes = Self.batch(500)
        let doc = try XMLDocument.parse(bytes)
        let nodes = try XMLPath("body/vio").nodes(from: #require(doc.root))
        let xpaths = try Self.fields.map { try XMLPath("string(\($0))") }
        #expect(xpaths.allSatisfy { !$0.isSimple })
        var total = 0
        let elapsed = cpuSeconds {
            for node in nodes {
                for path in xpaths { total += path.string(from: node)?.utf8.count ?? 0 }
            }
        }
        let perField = elapsed / Double(nodes.count * xpaths.count) * 1e9
        // What a fresh context per evaluation would add.
        let n = 20_000
        let fresh = cpuSeconds {
            for _ in 0..<n {
                let context = xmlXPathNewContext(doc.pointer)
                xmlXPathFreeContext(context)
            }
        }
        print("XML bench: XPath engine string(...) \(Int(perField)) ns/field (pooled context); "
            + "fresh xmlXPathNewContext+Free \(Int(fresh / Double(n) * 1e9)) ns")
        #expect(total > 0)
    }

    @Test func streamThroughput() throws {
        let path = NSTemporaryDirectory() + "xgw-xml-bench-\(UUID().uuidString).xml"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let records = try writeTrafficDocument(to: path, megabytes: 20)
        let paths = try Self.fields.map { try XMLPath($0) }
        var count = 0
        var total = 0
        let elapsed = try cpuSeconds {
            let stream = try XMLRecordStream(path: path, recordPath: "body/vio")
            while let record = try stream.next() {
                count += 1
                for p in paths { total += p.string(from: record.node)?.utf8.count ?? 0 }
            }
        }
        print("XML bench: stream + 18 fields \(Int(Double(count) / elapsed)) records/s (\(count) records, 20 MB)")
        #expect(count == records)
    }
}
