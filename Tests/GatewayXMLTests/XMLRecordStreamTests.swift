import Foundation
import Testing
@testable import GatewayXML

/// A temporary file removed when the value goes away.
final class TemporaryFile {
    let path: String

    init(_ bytes: [UInt8]) throws {
        path = NSTemporaryDirectory() + "xgw-xml-\(UUID().uuidString).xml"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    convenience init(_ text: String) throws { try self.init(Array(text.utf8)) }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// All records of a stream.
func streamAll(_ file: TemporaryFile, _ paths: [String], options: XMLDocument.Options = .init()) throws -> [XMLRecordStream.Record] {
    let stream = try XMLRecordStream(path: file.path, recordPaths: paths, options: options)
    var records: [XMLRecordStream.Record] = []
    while let r = try stream.next() { records.append(r) }
    return records
}

/// Location paths of every element and attribute below (and including) `node`.
func allLocationPaths(_ node: XMLNode) -> [String] {
    var result = [node.locationPath]
    if let attributes = try? XMLPath("@*").nodes(from: node) { result += attributes.map(\.locationPath) }
    for child in node.childElements { result += allLocationPaths(child) }
    return result
}

@Suite struct XMLRecordStreamTests {
    @Test func streamsRecordsWithHeaderAndDOMLocationPaths() throws {
        let file = try TemporaryFile(Sample.traffic)
        let stream = try XMLRecordStream(path: file.path, recordPath: "body/vio")
        let header = try #require(try stream.header())
        #expect(header.localName == "root")
        #expect(try XMLPath("head/jkid").string(from: header) == "04C03")
        #expect(try XMLPath("head/code").string(from: header) == "1")
        var records: [XMLRecordStream.Record] = []
        while let r = try stream.next() { records.append(r) }
        #expect(records.map(\.index) == [0, 1])
        #expect(records.map(\.node.locationPath) == ["/root/body/vio[1]", "/root/body/vio[2]"])
        #expect(records[1].node.firstChild(named: "hphm")?.locationPath == "/root/body/vio[2]/hphm")
        #expect(records[1].node.firstChild(named: "hphm")?.text == "川S·54321")
        #expect(records[0].node.attribute("id") == "0")
        #expect(records[0].node.line == 5)
        #expect(try stream.next() == nil)

        let dom = try XMLDocument.parse(Sample.traffic)
        let domRecords = try XMLPath("body/vio").nodes(from: #require(dom.root))
        #expect(records.flatMap { allLocationPaths($0.node) } == domRecords.flatMap(allLocationPaths))
    }

    @Test func singleRecordHasNoIndex() throws {
        let file = try TemporaryFile("<root><head/><body><vio><hphm>川S·1</hphm></vio></body></root>")
        let records = try streamAll(file, ["body/vio"])
        #expect(records.count == 1)
        #expect(records.first?.node.firstChild(named: "hphm")?.locationPath == "/root/body/vio/hphm")
    }

    @Test func locationPathsEqualTheDOMForMixedSiblings() throws {
        let text = """
            <r><x/><b><v><a/><a><c/></a></v><w/><v k="1"/><w/><v/></b><b><v/></b><b><w/><v/><w/></b></r>
            """
        let file = try TemporaryFile(text)
        let records = try streamAll(file, ["b/v"])
        let dom = try XMLDocument.parse(text)
        let domRecords = try XMLPath("b/v").nodes(from: #require(dom.root))
        // Differs from the DOM only for the first `b` (documented): "/r/b/v[1]" vs "/r/b[1]/v[1]".
        let expected = domRecords.flatMap(allLocationPaths).map { $0.replacingOccurrences(of: "/r/b[1]/", with: "/r/b/") }
        #expect(records.flatMap { allLocationPaths($0.node) } == expected)
        #expect(records.map(\.node.locationPath) == ["/r/b/v[1]", "/r/b/v[2]", "/r/b/v[3]", "/r/b[2]/v", "/r/b[3]/v"])
    }

    @Test func defaultNamespaceRecordsKeepTheirNamespace() throws {
        let file = try TemporaryFile(Sample.caseList)
        let records = try streamAll(file, ["Case"])
        let c = try #require(records.first?.node)
        #expect(c.namespaceURI == "urn:cq:zhzf:case:1")
        #expect(c.locationPath == "/CaseList/Case")
        #expect(try XMLPath("Party/Name").string(from: c) == "重庆某某物流有限公司")
        let ns = ["c": "urn:cq:zhzf:case:1"]
        #expect(try XMLPath("c:Officer[2]/@certNo", namespaces: ns).string(from: c) == "50015501002")
        #expect(try XMLPath("c:Officer", namespaces: ns).nodes(from: c).map(\.locationPath)
            == ["/CaseList/Case/Officer[1]", "/CaseList/Case/Officer[2]"])
        #expect(try XMLPath("Facts").string(from: c) == "2023年7月5日，当事人所属车辆<超限>……")
    }

    @Test func rootAsTheRecord() throws {
        let file = try TemporaryFile("<TB xmlns='urn:klds:djlm:tb:1' ID='KJRS-2023-007'><JSDW DM='a'/><JSDW DM='b'/></TB>")
        let stream = try XMLRecordStream(path: file.path, recordPath: ".")
        #expect(try stream.header() == nil)
        let record = try #require(try stream.next())
        #expect(record.node.locationPath == "/TB")
        #expect(try XMLPath("@ID").firstNode(from: record.node)?.locationPath == "/TB/@ID")
        #expect(try XMLPath("JSDW/@DM").nodes(from: record.node).map(\.locationPath) == ["/TB/JSDW[1]/@DM", "/TB/JSDW[2]/@DM"])
        #expect(try stream.next() == nil)
    }

    @Test func severalRecordPathsAndAbsolutePaths() throws {
        let file = try TemporaryFile("<root><a><x>1</x></a><b><y>2</y><y>3</y></b></root>")
        let records = try streamAll(file, ["/root/b/y", "a/x"])
        #expect(records.map(\.node.text) == ["1", "2", "3"])
        #expect(records.map(\.pathIndex) == [1, 0, 0])
        #expect(records.map(\.node.locationPath) == ["/root/a/x", "/root/b/y[1]", "/root/b/y[2]"])
        #expect(try streamAll(file, ["/other/b/y"]).isEmpty)
        #expect(throws: XMLError.self) { try XMLRecordStream(path: file.path, recordPaths: ["a[1]"]) }
        #expect(throws: XMLError.self) { _ = try XMLRecordStream(path: file.path, recordPaths: []).next() }
        #expect(throws: XMLError.self) { try XMLRecordStream(path: file.path).selectRecords([]) }
    }

    @Test func documentWithoutRecordsIsItsOwnHeader() throws {
        let file = try TemporaryFile("<root><head><code>0</code><message>查询失败</message></head></root>")
        let stream = try XMLRecordStream(path: file.path, recordPath: "body/vio")
        #expect(try stream.next() == nil)
        let header = try #require(try stream.header())
        #expect(try XMLPath("head/message").string(from: header) == "查询失败")
    }

    @Test func decodesGBKAcrossChunkBoundaries() throws {
        var bytes = Array("<?xml version=\"1.0\" encoding=\"GBK\"?>\n<root><body>".utf8)
        let count = 3000 // about 150 KB: several 64 KB reads, multi-byte characters split between them
        for i in 0..<count {
            bytes += Array("<vio><xh>\(i)</xh><wfdz>".utf8) + [0xC8, 0xCE, 0xCA, 0xD0, 0xBF, 0xAA, 0xBD, 0xAD, 0xCF, 0xD8]
                + Array("</wfdz></vio>\n".utf8)
        }
        bytes += Array("</body></root>".utf8)
        let records = try streamAll(try TemporaryFile(bytes), ["body/vio"])
        #expect(records.count == count)
        #expect(records.allSatisfy { $0.node.firstChild(named: "wfdz")?.text == "任市开江县" })
        #expect(records.last?.node.locationPath == "/root/body/vio[\(count)]")
        #expect(records.last?.node.firstChild(named: "xh")?.text == "\(count - 1)")
        #expect(records.last?.node.line == count + 1)
    }

    @Test func rejectsEntityDeclarationsAndNeverReadsExternalFiles() throws {
        let file = try TemporaryFile(
            "<!DOCTYPE root [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><root><body><vio>&xxe;</vio></body></root>")
        let stream = try XMLRecordStream(path: file.path, recordPath: "body/vio")
        let error = #expect(throws: XMLError.self) { _ = try stream.next() }
        #expect(error?.kind == .entityDeclaration)
        #expect(error?.description.contains("root:") == false)

        let laughs = try TemporaryFile(Sample.billionLaughs)
        let elapsed = try seconds {
            let s = try XMLRecordStream(path: laughs.path, recordPath: ".")
            #expect(throws: XMLError.self) { _ = try s.next() }
        }
        #expect(elapsed < 0.5)
    }

    @Test func depthAndSizeLimits() throws {
        let deep = try TemporaryFile("<root><body><vio>" + Sample.nested(depth: 254) + "</vio></body></root>")
        let error = #expect(throws: XMLError.self) { _ = try streamAll(deep, ["body/vio"]) }
        #expect(error?.kind == .tooDeep)
        let okDeep = try TemporaryFile("<root><body><vio>" + Sample.nested(depth: 253) + "</vio></body></root>")
        #expect(try streamAll(okDeep, ["body/vio"]).count == 1)

        let big = String(repeating: "<f>0123456789</f>", count: 100)
        let file = try TemporaryFile("<root><body><vio><f/></vio><vio><f/></vio><vio>\(big)</vio><vio/></body></root>")
        let stream = try XMLRecordStream(path: file.path, recordPath: "body/vio", options: .init(maxDocumentBytes: 1000))
        #expect(try stream.next()?.node.locationPath == "/root/body/vio[1]")
        #expect(try stream.next()?.node.locationPath == "/root/body/vio[2]")
        let tooLarge = #expect(throws: XMLError.self) { _ = try stream.next() }
        #expect(tooLarge?.kind == .tooLarge)
        #expect(try streamAll(file, ["body/vio"], options: .init(maxDocumentBytes: 2000)).count == 4)

        let outside = try TemporaryFile("<root><head>\(big)</head><body/></root>")
        let outsideError = #expect(throws: XMLError.self) {
            _ = try streamAll(outside, ["body/vio"], options: .init(maxDocumentBytes: 1000))
        }
        #expect(outsideError?.kind == .tooLarge)
    }

    @Test func recordsBeforeAParseErrorAreYielded() throws {
        let file = try TemporaryFile("<root><body>\n<vio>1</vio>\n<vio>2</vio>\n<vio>3</bad>\n</body></root>")
        let stream = try XMLRecordStream(path: file.path, recordPath: "body/vio")
        #expect(try stream.next()?.node.text == "1")
        #expect(try stream.next()?.node.text == "2")
        let error = #expect(throws: XMLError.self) { _ = try stream.next() }
        #expect(error?.kind == .malformed)
        #expect(error?.line == 4)
        #expect(try stream.next() == nil)
    }

    @Test func missingFileIsAnIOError() {
        let error = #expect(throws: XMLError.self) {
            try XMLRecordStream(path: "/nonexistent/xgw.xml", recordPath: "body/vio")
        }
        #expect(error?.kind == .io)
    }

    @Test func readsFromADescriptor() throws {
        let file = try TemporaryFile(Sample.traffic)
        let fd = open(file.path, O_RDONLY)
        try #require(fd >= 0)
        defer { close(fd) }
        let stream = try XMLRecordStream(fileDescriptor: fd, recordPaths: ["body/vio"])
        var n = 0
        while try stream.next() != nil { n += 1 }
        #expect(n == 2)
    }
}

@Suite struct XMLRecordStreamLineTests {
    @Test func linesOfStreamedRecordsBeyond65535() throws {
        var text = "<root><body>\n"
        for i in 0..<70_000 { text += "<vio><xh>\(i)</xh></vio>\n" }
        text += "</body></root>"
        let records = try streamAll(try TemporaryFile(text), ["body/vio"])
        #expect(records.count == 70_000)
        #expect(records[9].node.line == 11)
        #expect(records[9].node.firstChild(named: "xh")?.line == 11)
        #expect(records[69_999].node.line == 70_001)
        #expect(records[69_999].node.firstChild(named: "xh")?.line == 70_001)
        let dom = try XMLDocument.parse(text)
        let last = try XMLPath("body/vio[70000]/xh").firstNode(from: #require(dom.root))
        #expect(last?.line == 70_001)
    }
}

@Suite struct XMLRecordStreamDetectionTests {
    @Test func peekThenSelectRecords() throws {
        let file = try TemporaryFile(Sample.traffic)
        let stream = try XMLRecordStream(path: file.path)
        let root = try #require(try stream.peek())
        #expect(root.localName == "root")
        #expect(try XMLPath("head/jkid").string(from: root) == "04C03")
        #expect(try stream.peek() == root)
        #expect(throws: XMLError.self) { _ = try stream.next() }
        try stream.selectRecords(["body/vio"])
        #expect(throws: XMLError.self) { try stream.selectRecords(["body/vio"]) }
        var paths: [String] = []
        while let r = try stream.next() { paths.append(r.node.locationPath) }
        #expect(paths == ["/root/body/vio[1]", "/root/body/vio[2]"])
        #expect(try stream.peek() == root) // the snapshot stays available

        let late = try XMLRecordStream(path: file.path, recordPath: "body/vio")
        _ = try late.next()
        #expect(throws: XMLError.self) { _ = try late.peek() }
    }

    @Test func peekReplaysBytesFromAPipe() throws {
        var text = trafficHead
        let count = 300 // more than the 64 KiB peek window
        for i in 0..<count { text += trafficRecord(i) }
        text += "</body></root>"
        let bytes = Array(text.utf8)
        #expect(bytes.count > XMLRecordStream.peekBytes)
        var fds: [Int32] = [0, 0]
        try #require(pipe(&fds) == 0)
        let writeEnd = fds[1]
        let writer = Thread {
            bytes.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let n = write(writeEnd, buffer.baseAddress! + offset, buffer.count - offset)
                    if n <= 0 { break }
                    offset += n
                }
            }
            close(writeEnd)
        }
        writer.start()
        let stream = try XMLRecordStream(fileDescriptor: fds[0], closeWhenDone: true)
        let root = try #require(try stream.peek())
        #expect(try XMLPath("head/jkid").string(from: root) == "04C03")
        #expect(root.firstChild(named: "body")?.childElements.isEmpty == false)
        try stream.selectRecords(["body/vio"])
        var n = 0
        while let r = try stream.next() {
            #expect(r.node.firstChild(named: "xh")?.text == "51172300" + String(format: "%08d", n))
            n += 1
        }
        #expect(n == count)
    }

    @Test func peekReportsEarlyProblems() throws {
        let entity = try TemporaryFile("<!DOCTYPE r [<!ENTITY a 'x'>]><r>&a;</r>")
        let error = #expect(throws: XMLError.self) { _ = try XMLRecordStream(path: entity.path).peek() }
        #expect(error?.kind == .entityDeclaration)
        let broken = try TemporaryFile("<r><a></b></r>")
        #expect(throws: XMLError.self) { _ = try XMLRecordStream(path: broken.path).peek() }
        let empty = try TemporaryFile("")
        #expect(throws: XMLError.self) { _ = try XMLRecordStream(path: empty.path).peek() }
        let partial = try TemporaryFile("<?xml version='1.0'?>" + String(repeating: "<!-- -->", count: 10_000) + "<r/>")
        #expect(try XMLRecordStream(path: partial.path).peek() == nil) // no root within 64 KiB
    }
}

/// glibc's `mallopt` (not exported by the Glibc module), nil elsewhere.
func glibcMallopt() -> (@convention(c) (Int32, Int32) -> Int32)? {
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return nil }
    return unsafeBitCast(symbol, to: (@convention(c) (Int32, Int32) -> Int32).self)
}

@Suite struct XMLRecordStreamOwnershipTests {
    @Test func recordsOutliveTheirStream() throws {
        // Freed memory is overwritten (glibc M_PERTURB), so a record still pointing into the
        // parser's dictionary or tree would read garbage once the stream is gone.
        let perturb = glibcMallopt()
        _ = perturb?(-6 /* M_PERTURB */, 0xA5)
        defer { _ = perturb?(-6, 0) }
        var records: [XMLRecordStream.Record] = []
        do {
            let file = try TemporaryFile(
                "<r xmlns='urn:a' xmlns:p='urn:p'><v k='1' p:q='ab'><x>1</x><y> </y><p:z>abc</p:z></v><v k='2'/></r>")
            let stream = try XMLRecordStream(path: file.path, recordPath: "v")
            while let r = try stream.next() { records.append(r) }
        }
        for _ in 0..<100 { _ = [UInt8](repeating: 0, count: 4096) }
        #expect(records.count == 2)
        let v = try #require(records.first?.node)
        #expect(v.localName == "v")
        #expect(v.namespaceURI == "urn:a")
        #expect(v.attribute("k") == "1")
        #expect(v.attribute("q", namespace: "urn:p") == "ab")
        #expect(v.firstChild(named: "x")?.text == "1")
        #expect(v.firstChild(named: "y")?.text == " ")
        #expect(v.firstChild(named: "z")?.namespaceURI == "urn:p")
        #expect(try XMLPath("p:z", namespaces: ["p": "urn:p"]).string(from: v) == "abc")
        #expect(records[1].node.attribute("k") == "2")
        #expect(records[1].node.locationPath == "/r/v[2]")
    }
}
