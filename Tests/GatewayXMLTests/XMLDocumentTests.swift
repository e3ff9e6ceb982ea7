import Foundation
import Testing
@testable import GatewayXML

@Suite struct XMLDocumentParsingTests {
    @Test func parsesUTF8WithNamespacesAndCDATA() throws {
        let doc = try XMLDocument.parse(Sample.caseList)
        let root = try #require(doc.root)
        #expect(root.localName == "CaseList")
        #expect(root.namespaceURI == "urn:cq:zhzf:case:1")
        let c = try #require(root.firstChild(named: "Case"))
        #expect(c.firstChild(named: "Facts")?.text == "2023年7月5日，当事人所属车辆<超限>……")
        #expect(c.firstChild(named: "DocNo")?.text == "梁交执罚〔2023〕45号")
    }

    @Test(arguments: ["GBK", "gbk", "GB18030"])
    func decodesDeclaredChineseEncodings(_ encoding: String) throws {
        let doc = try XMLDocument.parse(Sample.gbk(declaring: encoding))
        let root = try #require(doc.root)
        #expect(root.firstChild(named: "wfdz")?.text == "任市")
        #expect(root.firstChild(named: "dsr")?.text == "张三")
        #expect(doc.declaredEncoding?.uppercased() == encoding.uppercased())
    }

    @Test func decodesFourByteGB18030Sequences() throws {
        // U+20000 (𠀀) is 95 32 82 36 in GB18030 and does not exist in GBK.
        let doc = try XMLDocument.parse(Sample.gbk(declaring: "GB18030", extra: [0x95, 0x32, 0x82, 0x36]))
        #expect(doc.root?.firstChild(named: "dsr")?.text == "张三\u{20000}")
    }

    @Test func gbkBytesWithoutDeclarationAreNotUTF8() {
        var bytes = Sample.gbk(declaring: "GBK")
        let declEnd = bytes.firstIndex(of: UInt8(ascii: ">"))!
        bytes.removeSubrange(0...declEnd)
        #expect(throws: XMLError.self) { try XMLDocument.parse(bytes) }
    }

    @Test func unknownEncodingIsMalformed() {
        let error = #expect(throws: XMLError.self) {
            try XMLDocument.parse("<?xml version=\"1.0\" encoding=\"X-NO-SUCH-ENCODING\"?><r/>")
        }
        #expect(error?.kind == .malformed)
    }

    @Test func undeclaredNamespacePrefixIsMalformed() {
        #expect(throws: XMLError.self) { try XMLDocument.parse("<p:r/>") }
    }

    @Test func acceptsUTF8ByteOrderMark() throws {
        let doc = try XMLDocument.parse([0xEF, 0xBB, 0xBF] + Array("<r>任市</r>".utf8))
        #expect(doc.root?.text == "任市")
    }

    @Test func reportsMalformedDocumentsWithPosition() {
        let secret = "511723199001011233"
        let error = #expect(throws: XMLError.self) {
            try XMLDocument.parse("<root>\n  <dsr>\(secret)</dsr>\n  <b></root>")
        }
        #expect(error?.kind == .malformed)
        #expect(error?.line == 3)
        #expect(error?.column != nil)
        #expect(error?.message.isEmpty == false)
        #expect(error?.message.contains(secret) == false)
        #expect(error?.message.hasSuffix("\n") == false)
    }

    @Test func rejectsEmptyAndOversizedDocuments() {
        #expect(throws: XMLError.self) { try XMLDocument.parse([UInt8]()) }
        let error = #expect(throws: XMLError.self) {
            try XMLDocument.parse("<r>0123456789</r>", options: .init(maxDocumentBytes: 10))
        }
        #expect(error?.kind == .tooLarge)
        #expect((try? XMLDocument.parse("<r>0123456789</r>", options: .init(maxDocumentBytes: 17))) != nil)
    }

    @Test func depthLimitAcceptsExactly256Levels() throws {
        let ok = try XMLDocument.parse(Sample.nested(depth: 256))
        #expect(ok.root?.text == "x")
        let error = #expect(throws: XMLError.self) { try XMLDocument.parse(Sample.nested(depth: 257)) }
        #expect(error?.kind == .tooDeep)
        #expect(error?.line == 1)
        let custom = #expect(throws: XMLError.self) {
            try XMLDocument.parse(Sample.nested(depth: 11), options: .init(maxDepth: 10))
        }
        #expect(custom?.kind == .tooDeep)
        #expect((try? XMLDocument.parse(Sample.nested(depth: 10), options: .init(maxDepth: 10))) != nil)
    }

    @Test func depthAbove256IsCappedByLibxml2() {
        // libxml2's own ceiling (no XML_PARSE_HUGE) applies whatever maxDepth says.
        #expect(throws: XMLError.self) {
            try XMLDocument.parse(Sample.nested(depth: 300), options: .init(maxDepth: 1000))
        }
    }
}

@Suite struct XMLHardeningTests {
    @Test func rejectsAnyEntityDeclaration() {
        let error = #expect(throws: XMLError.self) {
            try XMLDocument.parse("<!DOCTYPE r [<!ENTITY a \"x\">]><r>&a;</r>")
        }
        #expect(error?.kind == .entityDeclaration)
        #expect(error?.line == 1)
    }

    @Test func externalEntityIsNeverRead() throws {
        try #require(FileManager.default.fileExists(atPath: "/etc/passwd"))
        let documents = [
            "<?xml version=\"1.0\"?>\n<!DOCTYPE r [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n<r>&xxe;</r>",
            "<!DOCTYPE r [<!ENTITY % p SYSTEM \"file:///etc/passwd\"> %p;]><r/>",
            "<!DOCTYPE r [<!ENTITY u SYSTEM \"file:///etc/passwd\" NDATA x>]><r/>",
        ]
        for text in documents {
            let error = #expect(throws: XMLError.self) { try XMLDocument.parse(text) }
            #expect(error?.kind == .entityDeclaration)
            #expect(error?.message.contains("root:") == false)
            #expect(error?.description.contains("root:") == false)
        }
    }

    @Test func externalDTDIsNotLoaded() throws {
        // A DOCTYPE naming an external subset parses, but nothing is read from it.
        let doc = try XMLDocument.parse("<!DOCTYPE r SYSTEM \"file:///etc/passwd\"><r>ok</r>")
        #expect(doc.root?.text == "ok")
        let undeclared = try? XMLDocument.parse("<!DOCTYPE r SYSTEM \"file:///etc/passwd\"><r>&x;</r>")
        #expect(undeclared?.root?.text.contains("root:") != true)
    }

    @Test func billionLaughsIsRejectedQuickly() {
        let before = peakRSS()
        var error: XMLError?
        let elapsed = seconds {
            error = #expect(throws: XMLError.self) { try XMLDocument.parse(Sample.billionLaughs) }
        }
        #expect(error?.kind == .entityDeclaration)
        #expect(elapsed < 0.1)
        if let before, let after = peakRSS() { #expect(after - before < 16 << 20) }
    }

    @Test func concurrentParsesKeepTheirOwnResultsAndErrors() async {
        let failures = await withTaskGroup(of: Int.self) { group in
            for task in 0..<8 {
                group.addTask {
                    var bad = 0
                    for i in 0..<200 {
                        if (task + i) % 2 == 0 {
                            let doc = try? XMLDocument.parse(Sample.gbk(declaring: "GBK"))
                            if doc?.root?.firstChild(named: "wfdz")?.text != "任市" { bad += 1 }
                        } else {
                            let line = 1 + i % 5
                            let text = String(repeating: "\n", count: line - 1) + "<r><a></r>"
                            do {
                                _ = try XMLDocument.parse(text)
                                bad += 1
                            } catch let error as XMLError {
                                if error.line != line || error.kind != .malformed { bad += 1 }
                            } catch {
                                bad += 1
                            }
                        }
                    }
                    return bad
                }
            }
            return await group.reduce(0, +)
        }
        #expect(failures == 0)
    }
}
