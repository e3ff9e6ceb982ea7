import Foundation
import TestSupport
import Testing

/// `xgw render` through the built binary (issue 14 item 3): documents out, refusals on standard
/// error, exit codes, several documents into a folder, envelopes in.
@Suite struct RenderCommandTests {
    static let root = TestBinary.repositoryRoot

    static func xgw(_ arguments: [String]) throws -> ToolRun {
        try TestBinary.run("xgw", arguments, in: root, environment: ["NO_COLOR": "1"])
    }

    static func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("xgw-render-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func fixture(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent("Fixtures/" + path), encoding: .utf8)
    }

    @Test func recordsOfBothRegionsBecomeOneDocumentThatTranslatesBack() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let render = try Self.xgw(["render", "--format", "cq-traffic-json", "Fixtures/cq-traffic-json/render/001-both-regions.ndjson"])
        #expect(render.status == 0, "\(render.error)")
        #expect(render.error.isEmpty)
        let document = dir.appendingPathComponent("out.json")
        try render.output.write(to: document, atomically: true, encoding: .utf8)
        let back = try Self.xgw(["translate", "--mapping", "cq-traffic-json", document.path])
        #expect(back.status == 0, "\(back.error)")
        let ids = back.output.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["recordId"] as? String
        }
        #expect(ids == ["cq-traffic:5117230000123456", "cq-traffic:CQ5001552023071100017"])
    }

    @Test func aRefusedRecordIsAnErrorLineAndExit65() throws {
        let run = try Self.xgw(["render", "--format", "sc-traffic-xml", "Fixtures/sc-traffic-xml/render/002-missing-plate-refused.ndjson"])
        #expect(run.status == 65)
        #expect(run.error.contains("\"path\":\"/vehicle/plate\"") && run.error.contains("\"index\":0"), "\(run.error)")
        #expect(run.output.contains("<xh>5117230000123456</xh>"))
        #expect(!run.output.contains("CQ5001552023071100017"))
    }

    @Test func anUnknownFormatIsAUsageError() throws {
        let run = try Self.xgw(["render", "--format", "cq-trafic-json", "Fixtures/cq-traffic-json/render/001-both-regions.ndjson"])
        #expect(run.status == 64)
        #expect(run.error.contains("cq-traffic-json"), "\(run.error)")
    }

    @Test func severalDocumentsNeedAFolderAndGoThere() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("bulletins.ndjson")
        let records = try Self.fixture("sc-bulletin-xml/render/001-from-sichuan.ndjson") + Self.fixture("sc-bulletin-xml/render/002-from-chongqing.ndjson")
        try records.write(to: input, atomically: true, encoding: .utf8)
        let refused = try Self.xgw(["render", "--format", "sc-bulletin-xml", input.path])
        #expect(refused.status == 64)
        #expect(refused.error.contains("--output"), "\(refused.error)")
        let out = dir.appendingPathComponent("out")
        let run = try Self.xgw(["render", "--format", "sc-bulletin-xml", "--output", out.path, input.path])
        #expect(run.status == 0, "\(run.error)")
        let files = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
        #expect(files == ["sc-bulletin-xml-0001.xml", "sc-bulletin-xml-0002.xml"])
        #expect(run.output.split(separator: "\n").count == 2)
        let first = try String(contentsOf: out.appendingPathComponent(files[0]), encoding: .utf8)
        #expect(first.contains("<TB xmlns=\"urn:klds:djlm:tb:1\""))
    }

    @Test func anEnvelopesPayloadIsRendered() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let record = try Self.fixture("cq-case-xml/render/001-both-regions.ndjson").split(separator: "\n")[0]
        let envelope = "{\"envelope\":{\"version\":1,\"kind\":\"enforcement-case\"},\"payload\":\(record),\"signature\":{}}\n"
        let input = dir.appendingPathComponent("envelopes.ndjson")
        try envelope.write(to: input, atomically: true, encoding: .utf8)
        let run = try Self.xgw(["render", "--format", "cq-case-xml", input.path])
        #expect(run.status == 0, "\(run.error)")
        #expect(run.output.contains("<Case id=\"KJJT2023000045\""), "\(run.output)")
    }
}
