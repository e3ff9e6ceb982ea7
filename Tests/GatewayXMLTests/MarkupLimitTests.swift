import Foundation
import Testing
@testable import GatewayXML

/// Issue 17 row 2: attributes per element and elements per document are bounded before libxml2
/// sees the markup (its attribute handling is O(n²) per element).
@Suite struct MarkupLimitTests {
    static func element(attributes n: Int) -> String {
        "<root><a " + (0..<n).map { "a\($0)=\"\"" }.joined(separator: " ") + "/></root>"
    }

    @Test func fortyThousandAttributesAreRefusedBeforeParsing() throws {
        let text = Self.element(attributes: 40_000)
        let clock = ContinuousClock()
        var caught: XMLError?
        let elapsed = clock.measure {
            do { _ = try XMLDocument.parse(text) } catch let e as XMLError { caught = e } catch {}
        }
        let error = try #require(caught)
        #expect(error.kind == .tooManyAttributes)
        #expect(error.message.contains("256"))
        #expect(error.line == 1)
        // Not a timing assertion on the scan itself: libxml2 takes seconds on this input, the scan
        // stops at attribute 257; this only records that the parse never ran.
        print("40,000 attributes refused in \(elapsed)")
    }

    @Test func theLimitIsInclusive() throws {
        var options = XMLDocument.Options()
        options.maxAttributesPerElement = 3
        _ = try XMLDocument.parse(Self.element(attributes: 3), options: options)
        let error = #expect(throws: XMLError.self) { try XMLDocument.parse(Self.element(attributes: 4), options: options) }
        #expect(error?.kind == .tooManyAttributes)
    }

    @Test func namespaceDeclarationsCount() throws {
        var options = XMLDocument.Options()
        options.maxAttributesPerElement = 2
        let error = #expect(throws: XMLError.self) {
            try XMLDocument.parse(#"<r xmlns="urn:a" xmlns:b="urn:b" b:c="1"/>"#, options: options)
        }
        #expect(error?.kind == .tooManyAttributes)
    }

    /// `=`, `>` and `<` inside values, comments, CDATA, processing instructions and the DOCTYPE
    /// are content, not attributes or elements.
    @Test func markupInsideValuesCommentsCDATAAndDeclarationsIsNotCounted() throws {
        var options = XMLDocument.Options()
        options.maxAttributesPerElement = 2
        options.maxElements = 3
        let text = """
            <?xml version="1.0" encoding="UTF-8"?>
            <?style a="1" b="2" c="3" d="4"?>
            <!DOCTYPE r [ <!ELEMENT r ANY> <!ATTLIST r x CDATA "a=b=c>d"> ]>
            <r x="a=b=c>d&lt;" y='q="1" r="2"'>
              <!-- <e a="1" b="2" c="3"/> <e/> <e/> - -->
              <s><![CDATA[<e a="1" b="2" c="3"/><e/><e/> ]] ]]]></s>
              <t a = "1" b='2'/>
            </r>
            """
        let doc = try XMLDocument.parse(text, options: options)
        #expect(doc.root?.localName == "r")
    }

    @Test func elementsPerDocumentAreBounded() throws {
        var options = XMLDocument.Options()
        options.maxElements = 10
        _ = try XMLDocument.parse("<r>" + String(repeating: "<a/>", count: 9) + "</r>", options: options)
        let error = #expect(throws: XMLError.self) {
            try XMLDocument.parse("<r>" + String(repeating: "<a/>", count: 10) + "</r>", options: options)
        }
        #expect(error?.kind == .tooManyElements)
        #expect(error?.message.contains("10 elements") == true)
    }

    @Test func theDefaultElementLimitRefusesAnAmplifyingBody() throws {
        // Issue 17 row 3's shape: empty elements outside any record, 4 bytes each.
        let text = "<root>" + String(repeating: "<a/>", count: 1_000_001) + "</root>"
        let error = #expect(throws: XMLError.self) { try XMLDocument.parse(text) }
        #expect(error?.kind == .tooManyElements)
    }

    @Test func gbkTextIsScannedAsBytes() throws {
        let doc = try XMLDocument.parse(Sample.gbk(declaring: "GBK"))
        #expect(doc.root?.firstChild(named: "dsr")?.text == "张三")
    }

    @Test func streamingRefusesAnElementWithTooManyAttributes() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("xgw-attrs-\(UUID().uuidString).xml").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let body = "<root><body>" + String(repeating: "<vio><xh>1</xh></vio>", count: 3) + "<vio "
            + (0..<300).map { "a\($0)=\"\"" }.joined(separator: " ") + "/></body></root>"
        try Data(body.utf8).write(to: URL(fileURLWithPath: path))
        let stream = try XMLRecordStream(path: path, recordPath: "body/vio")
        var records = 0
        let error = #expect(throws: XMLError.self) {
            while try stream.next() != nil { records += 1 }
        }
        #expect(error?.kind == .tooManyAttributes)
    }

    @Test func scannerStateCarriesAcrossChunks() {
        var scanner = MarkupScanner(limits: .init(maxAttributesPerElement: 2, maxElements: nil))
        let chunks = ["<r><!-", "- <a b=\"1\" c=\"2\" d=\"3\"/> -", "-><e x=", "\"=>\" y='=", "'", " z=\"\"/></r>"]
        var failure: XMLError?
        for chunk in chunks where failure == nil {
            failure = Array(chunk.utf8).withUnsafeBytes { scanner.scan($0) }
        }
        #expect(failure?.kind == .tooManyAttributes)
        #expect(failure?.column != nil)
    }
}
