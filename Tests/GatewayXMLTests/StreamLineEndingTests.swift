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

/// The limit on content outside records bounds what stays in memory, not the indentation between
/// records: a long batch of small records must stream whatever its total white space.
@Suite struct StreamOutsideRecordsTests {
    func write(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("outside-\(UUID().uuidString).xml").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func whitespaceAndSmallElementsBetweenRecordsDoNotAddUp() throws {
        var xml = "<root><head><code>1</code></head><body>\n"
        for i in 0..<3000 { xml += "        <vio><xh>\(i)</xh></vio>\n" + (i % 10 == 0 ? "   <note>n</note>\n" : "") }
        xml += "</body></root>"
        let path = try write(xml)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var options = XMLDocument.Options()
        options.maxDocumentBytes = 4096  // far less than the ~30 KB of white space between records
        let stream = try XMLRecordStream(path: path, recordPath: "body/vio", options: options)
        var count = 0
        while let r = try stream.next() {
            #expect(r.node.firstChild(named: "xh")?.text == String(count))
            count += 1
        }
        #expect(count == 3000)
    }

    @Test func contentHeldOutsideRecordsIsStillRefusedAboveTheLimit() throws {
        // Text held in an element that is still open (it cannot be freed yet) counts.
        let xml = "<root><body><vio><xh>1</xh></vio><big>" + String(repeating: "aaaaaaaa", count: 1000)
            + "<y/></big><vio><xh>2</xh></vio></body></root>"
        let path = try write(xml)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var options = XMLDocument.Options()
        options.maxDocumentBytes = 4096
        let stream = try XMLRecordStream(path: path, recordPath: "body/vio", options: options)
        #expect(throws: XMLError.self) { while try stream.next() != nil {} }
    }
}
