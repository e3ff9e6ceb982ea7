import Foundation
import Testing

@testable import GatewayXML

/// XML §2.11: CR LF and lone CR become LF in every text, CDATA included — a streamed record must
/// read exactly like the same document parsed whole (libxml2 2.9's push parser skips this for CDATA).
@Suite struct StreamLineEndingTests {
    @Test func cdataLineEndingsAreNormalisedLikeTheDOM() throws {
        let xml = "<root>\r\n<r><t><![CDATA[a\r\nb\rc]]></t><u>x\r\ny</u></r>\r\n</root>\r\n"
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("crlf-\(UUID().uuidString).xml").path
        try Data(xml.utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }

        let dom = try XMLDocument.parse(Array(xml.utf8))
        let domRecord = try #require(dom.root?.firstChild(named: "r"))
        let stream = try XMLRecordStream(path: path, recordPath: "r")
        let streamed = try #require(try stream.next())
        #expect(streamed.node.firstChild(named: "t")?.text == "a\nb\nc")
        #expect(streamed.node.firstChild(named: "t")?.text == domRecord.firstChild(named: "t")?.text)
        #expect(streamed.node.firstChild(named: "u")?.text == "x\ny")
    }
}
