import Foundation
import GatewayXML
import TestSupport
import Testing

/// `xgw fixtures test --reporter junit` (the report CI tools read) writes a mismatch naming members
/// and values with markup characters as well-formed XML: `MarkupEscaping.xml` on every attribute and
/// the failure text.
@Suite struct FixtureJUnitTests {
    @Test func aMismatchWithMarkupCharactersIsEscapedInTheReport() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("xgw-junit-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let target = folder.appendingPathComponent("Fixtures/cq-traffic-json")
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
        let source = TestBinary.repositoryRoot.appendingPathComponent("Fixtures/cq-traffic-json")
        for name in ["001-formats-example.json", "001-formats-example.expected.ndjson"] {
            try FileManager.default.copyItem(at: source.appendingPathComponent(name), to: target.appendingPathComponent(name))
        }
        // An expected member the translation does not make, named and valued with & < > ".
        let expected = target.appendingPathComponent("001-formats-example.expected.ndjson")
        let text = try String(contentsOf: expected, encoding: .utf8)
        try #require(text.hasPrefix("{"))
        try ("{\"x<&\\\"y>\":\"a<b>&\\\"c\\\"\"," + text.dropFirst()).write(to: expected, atomically: true, encoding: .utf8)

        let run = try TestBinary.run("xgw", ["fixtures", "test", "--fixtures", "Fixtures", "--reporter", "junit"], in: folder)
        #expect(run.status == 1, "\(run.error)")
        let failure = try #require(run.output.split(separator: "\n").first { $0.contains("<failure ") }, "\(run.output)")
        #expect(
            failure.hasSuffix(
                "/x&lt;&amp;&quot;y&gt;: expected &quot;a&lt;b&gt;&amp;\\&quot;c\\&quot;&quot;, actual absent</failure>"), "\(failure)")
        // The whole report is well-formed XML (libxml2's parser).
        #expect(throws: Never.self, "\(run.output)") { _ = try GatewayXML.XMLDocument.parse(run.output) }
    }
}
