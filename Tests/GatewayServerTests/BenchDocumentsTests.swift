import Foundation
import Testing
import TestSupport

/// `xgw bench translate|pipeline --documents FILE…` (issue 18 item 3) through the built binary, on
/// Fixtures/ documents: the counts it prints (documents, records, rejected, accepted, skipped
/// files), checked against what the fixtures say each document gives; never the timings.
@Suite(.serialized) struct BenchDocumentsTests {
    static let root = TestBinary.repositoryRoot
    static let folders = ["--mappings", root.appendingPathComponent("Mappings").path, "--seeds", root.appendingPathComponent("seeds").path]

    static func fixture(_ name: String) -> String { root.appendingPathComponent("Fixtures/\(name)").path }

    /// What the fixture says a document gives: its translated records (`.expected.ndjson` lines)
    /// and its rejected ones (`.rejections.ndjson` lines).
    static func expected(_ name: String) throws -> (translated: Int, rejected: Int) {
        let base = fixture(name).replacingOccurrences(of: ".xml", with: "").replacingOccurrences(of: ".json", with: "")
        func lines(_ suffix: String) throws -> Int {
            guard FileManager.default.fileExists(atPath: base + suffix) else { return 0 }
            return try String(contentsOfFile: base + suffix, encoding: .utf8).split(separator: "\n").count
        }
        return (try lines(".expected.ndjson"), try lines(".rejections.ndjson"))
    }

    static let gbk = "sc-traffic-xml/001-formats-example-gbk.xml"
    static let scThree = "sc-traffic-xml/002-batch-three-utf8.xml"
    static let scTwoBad = "sc-traffic-xml/055-batch-two-bad-of-five.xml"
    static let cqThree = "cq-traffic-json/002-batch-three.json"
    static let otherRoot = "unknown-format/006-xml-other-root.xml"

    /// The row of `format` split into words.
    static func row(_ format: String, in output: String) -> [String] {
        output.split(separator: "\n").first { $0.hasPrefix(format + " ") }.map { $0.split(separator: " ").map(String.init) } ?? []
    }

    @Test func translateCountsEachFormatsDocumentsRecordsAndRejectionsAndSkipsWhatDoesNotTranslate() throws {
        let names = [Self.gbk, Self.scThree, Self.scTwoBad, Self.cqThree, Self.otherRoot]
        let run = try TestBinary.run(
            "xgw", ["bench", "translate", "--seconds", "0"] + Self.folders + ["--documents"] + names.map(Self.fixture))
        #expect(run.status == 0, "\(run.output) \(run.error)")
        // The XML of another root is named with its rejection and left out; the others are measured.
        #expect(run.output.contains("skipped \(Self.fixture(Self.otherRoot)): unknown-format: "), "\(run.output)")
        #expect(run.output.contains("documents: 4 measured, 1 skipped"), "\(run.output)")
        let sc = try [Self.gbk, Self.scThree, Self.scTwoBad].map(Self.expected)
        let scRow = Self.row("sc-traffic-xml", in: run.output)
        // format, documents, records, rejected (per pass), bytes/record, records/s, µs/record, cpu µs/record.
        #expect(scRow.count == 8, "\(run.output)")
        #expect(scRow.dropFirst().prefix(3) == ["3", "\(sc.reduce(0) { $0 + $1.translated + $1.rejected })", "\(sc.reduce(0) { $0 + $1.rejected })"], "\(run.output)")
        #expect(scRow.dropFirst(4).allSatisfy { (Double($0) ?? 0) > 0 }, "\(run.output)")
        let cq = try Self.expected(Self.cqThree)
        let cqRow = Self.row("cq-traffic-json", in: run.output)
        #expect(cqRow.dropFirst().prefix(3) == ["1", "\(cq.translated + cq.rejected)", "\(cq.rejected)"], "\(run.output)")
        #expect(sc[0].translated == 1 && sc[2].rejected == 2 && cq.translated == 3)
    }

    @Test func aForcedFormatReadsEveryDocumentWithItAndNothingLeftIsAUsageError() throws {
        // GBK XML read as cq-traffic-json: the translator refuses it as XML given to a JSON mapping.
        let forced = try TestBinary.run(
            "xgw", ["bench", "translate", "--seconds", "0"] + Self.folders
                + ["--format", "cq-traffic-json", "--documents", Self.fixture(Self.gbk)])
        #expect(forced.status == 64, "\(forced.output) \(forced.error)")
        #expect(forced.output.contains("skipped \(Self.fixture(Self.gbk)): unknown-format: the document is XML and mapping 'cq-traffic-json' reads JSON"), "\(forced.output)")
        #expect(forced.error.contains("none of the 1 document(s) translates"), "\(forced.error)")
        // The right mapping forced: the same counts as detected.
        let right = try TestBinary.run(
            "xgw", ["bench", "translate", "--seconds", "0"] + Self.folders
                + ["--format", "sc-traffic-xml", "--documents", Self.fixture(Self.gbk), Self.fixture(Self.scThree)])
        #expect(right.status == 0, "\(right.output) \(right.error)")
        #expect(Self.row("sc-traffic-xml", in: right.output).dropFirst().prefix(3) == ["2", "4", "0"], "\(right.output)")
        // An unknown mapping, and --format without documents, are usage errors.
        let unknown = try TestBinary.run(
            "xgw", ["bench", "translate"] + Self.folders + ["--format", "xx-traffic", "--documents", Self.fixture(Self.gbk)])
        #expect(unknown.status == 64 && unknown.error.contains("no mapping named 'xx-traffic'"), "\(unknown.error)")
        let alone = try TestBinary.run("xgw", ["bench", "translate", "--format", "sc-traffic-xml"])
        #expect(alone.status == 64 && alone.error.contains("--format needs --documents"), "\(alone.error)")
    }

    @Test func pipelineCountsWhatEachPassAcceptsAndRejects() throws {
        let names = [Self.scThree, Self.scTwoBad, Self.cqThree, Self.otherRoot]
        // 11 records per pass: --records 12 takes two passes, each to a new queue (no duplicates).
        let run = try TestBinary.run(
            "xgw", ["bench", "pipeline", "--records", "12", "--algorithms", "ES256", "--signing", "batch,single", "--floor-seconds", "0"]
                + Self.folders + ["--documents"] + names.map(Self.fixture))
        #expect(run.status == 0, "\(run.output) \(run.error)")
        #expect(run.output.contains("skipped \(Self.fixture(Self.otherRoot)): unknown-format: "), "\(run.output)")
        #expect(run.output.contains("documents: 3 measured, 1 skipped"), "\(run.output)")
        let counts = try [Self.scThree, Self.scTwoBad, Self.cqThree].map(Self.expected)
        let translated = counts.reduce(0) { $0 + $1.translated }
        let rejected = counts.reduce(0) { $0 + $1.rejected }
        let lines = run.output.split(separator: "\n").map(String.init)
        for mode in ["batch", "single"] {
            let index = try #require(lines.firstIndex { $0.hasPrefix("ES256    \(mode) ") }, "\(run.output)")
            // rec/doc is the mean over the three documents; records/s and rec/s/core are positive.
            let fields = lines[index].split(separator: " ")
            #expect(fields.count >= 5 && fields[2] == "\(String(format: "%.1f", Double(translated + rejected) / 3))", "\(run.output)")
            #expect(fields.dropFirst(3).prefix(2).allSatisfy { (Double($0) ?? 0) > 0 }, "\(run.output)")
            #expect(
                lines[index + 1].trimmingCharacters(in: .whitespaces)
                    == "per pass: \(translated + rejected) records: \(translated) accepted, 0 duplicates, \(rejected) rejected; 2 pass(es)",
                "\(run.output)")
        }
    }

    @Test func pipelineWithNoDocumentLeftIsAUsageError() throws {
        let run = try TestBinary.run(
            "xgw", ["bench", "pipeline", "--records", "1", "--algorithms", "ES256", "--floor-seconds", "0"] + Self.folders
                + ["--documents", Self.fixture(Self.otherRoot)])
        #expect(run.status == 64, "\(run.output) \(run.error)")
        #expect(run.error.contains("none of the 1 document(s) translates"), "\(run.error)")
    }
}
