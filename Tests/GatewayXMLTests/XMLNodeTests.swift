import Testing
@testable import GatewayXML

@Suite struct XMLNodeTests {
    @Test func readsNamesAttributesTextAndLines() throws {
        let doc = try XMLDocument.parse(Sample.caseList)
        let c = try #require(doc.root?.firstChild(named: "Case"))
        #expect(c.isElement)
        #expect(c.localName == "Case")
        #expect(c.namespaceURI == "urn:cq:zhzf:case:1")
        #expect(c.attribute("id") == "LP2023000123")
        #expect(c.attribute("status") == "已结案")
        #expect(c.attribute("missing") == nil)
        #expect(c.attribute("id", namespace: "urn:other") == nil)
        #expect(c.line == 3)
        #expect(c.firstChild(named: "Officer")?.attribute("certNo") == "50015501001")
        #expect(c.firstChild(named: "Officer", namespace: "urn:cq:zhzf:case:1") != nil)
        #expect(c.firstChild(named: "Officer", namespace: "urn:other") == nil)
        #expect(c.firstChild(named: "Nope") == nil)
        #expect(c.childElements.map(\.localName) == [
            "DocNo", "Field", "Party", "Facts", "Basis", "Penalty", "Authority", "Officer", "Officer", "AreaCode",
        ])
        #expect(c.firstChild(named: "Penalty")?.text == "")
        #expect(c.parent?.localName == "CaseList")
        #expect(doc.root?.parent == nil)
    }

    @Test func textConcatenatesDescendantsAndCDATA() throws {
        let doc = try XMLDocument.parse("<r><a>x<b>y<![CDATA[<z>]]></b>w</a><e/><q a='1 &amp; 2'/></r>")
        let r = try #require(doc.root)
        #expect(r.firstChild(named: "a")?.text == "xy<z>w")
        #expect(r.firstChild(named: "e")?.text == "")
        #expect(r.firstChild(named: "q")?.attribute("a") == "1 & 2")
        #expect(r.text == "xy<z>w")
    }

    @Test func namespacedAttributes() throws {
        let doc = try XMLDocument.parse("<r xmlns:p='urn:p' p:k='1' k='2'/>")
        let r = try #require(doc.root)
        #expect(r.attribute("k", namespace: "urn:p") == "1")
        #expect(r.attribute("k") == "1") // any namespace: the first in document order
    }

    @Test func locationPathsUseIndexOnlyForRepeatedNames() throws {
        let doc = try XMLDocument.parse(Sample.traffic)
        let root = try #require(doc.root)
        #expect(root.locationPath == "/root")
        let head = try #require(root.firstChild(named: "head"))
        #expect(head.firstChild(named: "jkid")?.locationPath == "/root/head/jkid")
        let vios = try #require(root.firstChild(named: "body")).childElements
        #expect(vios.map(\.locationPath) == ["/root/body/vio[1]", "/root/body/vio[2]"])
        #expect(vios[1].firstChild(named: "hphm")?.locationPath == "/root/body/vio[2]/hphm")

        let single = try XMLDocument.parse("<root><body><vio><hphm/></vio><other/></body></root>")
        let vio = try #require(single.root?.firstChild(named: "body")?.firstChild(named: "vio"))
        #expect(vio.firstChild(named: "hphm")?.locationPath == "/root/body/vio/hphm")
    }

    @Test func locationPathsUseLocalNamesAndAttributeSteps() throws {
        let doc = try XMLDocument.parse(
            "<p:TB xmlns:p='urn:klds:djlm:tb:1' ID='x'><p:JSDW DM='a'/><q:JSDW xmlns:q='urn:q' DM='b'/><p:BT/></p:TB>")
        let root = try #require(doc.root)
        #expect(try XMLPath("@ID").firstNode(from: root)?.locationPath == "/TB/@ID")
        let jsdw = root.childElements
        #expect(jsdw.map(\.locationPath) == ["/TB/JSDW[1]", "/TB/JSDW[2]", "/TB/BT"])
        #expect(try XMLPath("JSDW/@DM").nodes(from: root).map(\.locationPath) == ["/TB/JSDW[1]/@DM", "/TB/JSDW[2]/@DM"])
    }
}

@Suite struct XMLPathTests {
    let doc: XMLDocument
    let caseNode: XMLNode

    init() throws {
        doc = try XMLDocument.parse(Sample.caseList)
        caseNode = try #require(doc.root?.firstChild(named: "Case"))
    }

    @Test(arguments: ["DocNo", "Party/@kind", "@id", ".", "Officer", "p:Party/p:Name", "Party/./Name", "@xml:lang"])
    func simplePathsAvoidXPath(_ expression: String) throws {
        #expect(try XMLPath(expression, namespaces: ["p": "urn:cq:zhzf:case:1"]).isSimple)
    }

    @Test(arguments: ["string(@id)", "Officer[2]", "//Name", "../Case", "*", "text()", "/CaseList", "a | b", "Officer[@certNo]"])
    func otherExpressionsUseXPath(_ expression: String) throws {
        #expect(try XMLPath(expression).isSimple == false)
    }

    @Test func simplePathsSelectInAnyNamespaceUnlessPrefixed() throws {
        #expect(try XMLPath("DocNo").string(from: caseNode) == "梁交执罚〔2023〕45号")
        #expect(try XMLPath("Party/@kind").string(from: caseNode) == "ORG")
        #expect(try XMLPath("Party/Name").string(from: caseNode) == "重庆某某物流有限公司")
        #expect(try XMLPath("@id").string(from: caseNode) == "LP2023000123")
        #expect(try XMLPath(".").firstNode(from: caseNode) == caseNode)
        #expect(try XMLPath("Officer").nodes(from: caseNode).map(\.text) == ["孙七", "周八"])
        #expect(try XMLPath("Officer/@certNo").nodes(from: caseNode).map(\.text) == ["50015501001", "50015501002"])
        #expect(try XMLPath("Party/IDCard").string(from: caseNode) == nil)
        #expect(try XMLPath("Nope/Name").nodes(from: caseNode).isEmpty)
        let bound = ["p": "urn:cq:zhzf:case:1", "o": "urn:other"]
        #expect(try XMLPath("p:Party/p:Name", namespaces: bound).string(from: caseNode) == "重庆某某物流有限公司")
        #expect(try XMLPath("o:Party/Name", namespaces: bound).string(from: caseNode) == nil)
    }

    @Test func simplePathBacktracksToLaterMatches() throws {
        let d = try XMLDocument.parse("<r><a><x/></a><a><b>2</b></a><a><b>3</b></a></r>")
        let r = try #require(d.root)
        #expect(try XMLPath("a/b").string(from: r) == "2")
        #expect(try XMLPath("a/b").nodes(from: r).map(\.text) == ["2", "3"])
    }

    @Test func xpathExpressionsWithNamespacesAndFunctions() throws {
        let ns = ["c": "urn:cq:zhzf:case:1"]
        #expect(try XMLPath("c:Officer[2]", namespaces: ns).string(from: caseNode) == "周八")
        #expect(try XMLPath("string(@status)").string(from: caseNode) == "已结案")
        #expect(try XMLPath("concat(@id, '/', c:AreaCode)", namespaces: ns).string(from: caseNode) == "LP2023000123/500155")
        #expect(try XMLPath("count(c:Officer)", namespaces: ns).string(from: caseNode) == "2")
        #expect(try XMLPath("count(c:Officer) = 2", namespaces: ns).string(from: caseNode) == "true")
        #expect(try XMLPath("c:Officer[@certNo='50015501002']", namespaces: ns).firstNode(from: caseNode)?.locationPath
            == "/CaseList/Case/Officer[2]")
        #expect(try XMLPath("//c:Name", namespaces: ns).nodes(from: caseNode).map(\.text) == ["重庆某某物流有限公司"])
        // XPath 1.0: an unprefixed name matches elements in no namespace only.
        #expect(try XMLPath("Officer[2]").nodes(from: caseNode).isEmpty)
        #expect(try XMLPath("string(c:Nope)", namespaces: ns).string(from: caseNode) == "")
        #expect(try XMLPath("c:Nope[1]", namespaces: ns).string(from: caseNode) == nil)
        #expect(try XMLPath("c:Officer/text()", namespaces: ns).nodes(from: caseNode).map(\.locationPath)
            == ["/CaseList/Case/Officer[1]/text()", "/CaseList/Case/Officer[2]/text()"])
    }

    @Test(arguments: ["Officer[", "concat(", "@", "a/", "//", "nosuchfunction(1)", "x:Officer[1]", "$v", "x:A/x:B", ""])
    func compilationErrorsAreReported(_ expression: String) {
        let error = #expect(throws: XMLError.self) { try XMLPath(expression) }
        #expect(error?.kind == .invalidPath)
        #expect(error?.message.isEmpty == false)
    }

    @Test func concurrentEvaluationOfOnePath() async throws {
        let xpath = try XMLPath("c:Officer[2]/@certNo", namespaces: ["c": "urn:cq:zhzf:case:1"])
        let simple = try XMLPath("Party/Name")
        let node = caseNode
        let bad = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    var bad = 0
                    for _ in 0..<2_000 {
                        if xpath.string(from: node) != "50015501002" { bad += 1 }
                        if simple.string(from: node) != "重庆某某物流有限公司" { bad += 1 }
                    }
                    return bad
                }
            }
            return await group.reduce(0, +)
        }
        #expect(bad == 0)
    }
}

@Suite struct LocationPathIndexTests {
    @Test func manySiblingsUseTheDocumentIndex() throws {
        let text = "<r><a/>" + String(repeating: "<v/>", count: 100) + "<x/>" + String(repeating: "<v/>", count: 100) + "<a/></r>"
        let doc = try XMLDocument.parse(text)
        let children = try #require(doc.root).childElements
        #expect(children.count == 203)
        #expect(children[0].locationPath == "/r/a[1]")
        #expect(children[202].locationPath == "/r/a[2]")
        #expect(children[101].locationPath == "/r/x")
        #expect(children[150].locationPath == "/r/v[149]")
        #expect(children[1].locationPath == "/r/v[1]")
        // Same answers as the plain sibling walk for every child.
        for (i, child) in children.enumerated() {
            let name = child.localName
            let same = children.filter { $0.localName == name }
            let position = children[...i].filter { $0.localName == name }.count
            #expect(child.locationPath == "/r/" + name + (same.count > 1 ? "[\(position)]" : ""))
        }
    }

    @Test func locationPathsOfALargeBatchAreCheap() throws {
        var text = "<root><body>"
        for i in 0..<16_000 { text += "<vio><xh>\(i)</xh></vio>" }
        text += "</body></root>"
        let doc = try XMLDocument.parse(text)
        let records = try XMLPath("body/vio").nodes(from: #require(doc.root))
        var last = ""
        let elapsed = seconds {
            for r in records { last = r.firstChild(named: "xh")!.locationPath }
        }
        #expect(last == "/root/body/vio[16000]/xh")
        #expect(elapsed < 2)
    }
}
