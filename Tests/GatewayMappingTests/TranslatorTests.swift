import Foundation
import GatewayModel
import Testing

@testable import GatewayMapping

/// The package root, found from this file's path (Tests/GatewayMappingTests/…).
let packageRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

let translator: Translator = {
    do {
        return try Translator.load(mappingsDirectory: packageRoot + "/Mappings", seedsDirectory: packageRoot + "/seeds")
    } catch {
        fatalError("cannot load the mappings: \(error)")
    }
}()

struct Outcomes {
    var records: [JSONValue] = []
    var rejections: [Rejection] = []
    var summary: DocumentSummary?
}

func translate(_ text: String, mapping: String? = nil) -> Outcomes {
    translate(Array(text.utf8), mapping: mapping)
}

func translate(_ bytes: [UInt8], mapping: String? = nil) -> Outcomes {
    var o = Outcomes()
    o.summary = translator.translate(bytes, mappingID: mapping) { outcome in
        switch outcome {
        case .translated(_, let r, _): o.records.append(r)
        case .rejected(let r, _): o.rejections.append(r)
        }
    }
    return o
}

let scExample = """
    <?xml version="1.0" encoding="UTF-8"?>
    <root>
      <head><code>1</code><message>查询成功</message><rownum>1</rownum><jkid>04C03</jkid></head>
      <body>
        <vio id="0">
          <xh>5117230000123456</xh>
          <hphm>川S·12345</hphm>
          <hpzl>02</hpzl>
          <wfsj>2023-07-11 08:30:00.0</wfsj>
          <xzqh>511723107</xzqh>
          <wfdz>任市镇中心街与滨河路交叉口</wfdz>
          <wfxw>1625</wfxw>
          <wfxwmc>驾驶机动车违反道路交通信号灯通行的</wfxwmc>
          <fkje>200</fkje>
          <wfjfs>6</wfjfs>
          <cjfs>1</cjfs>
          <dsr>张三</dsr>
          <jszh>511723199001011233</jszh>
          <cjjg>511723000000</cjjg>
          <cjjgmc>开江县公安局交通警察大队</cjjgmc>
          <clbj>0</clbj>
          <jkbj>0</jkbj>
          <gxsj>2023-07-11 09:00:00.0</gxsj>
        </vio>
      </body>
    </root>
    """

func scBatch(_ plates: [String]) -> String {
    let vio = scExample.components(separatedBy: "<vio id=\"0\">")[1].components(separatedBy: "</vio>")[0]
    var body = ""
    for (i, plate) in plates.enumerated() {
        body += "<vio id=\"\(i)\">" + vio.replacingOccurrences(of: "川S·12345", with: plate)
            .replacingOccurrences(of: "5117230000123456", with: "51172300001234\(10 + i)") + "</vio>\n"
    }
    return scExample.components(separatedBy: "<body>")[0] + "<body>" + body + "</body></root>"
}

@Suite struct TrafficTranslation {
    @Test func sichuanExampleGivesTheDescribedRecord() throws {
        let o = translate(scExample)
        #expect(o.rejections.isEmpty)
        try #require(o.records.count == 1)
        #expect(
            o.records[0].canonicalString
                == #"{"agency":{"code":"511723000000","name":"开江县公安局交通警察大队"},"capture":"site","driver":{"idNumber":"511723199001011233","name":"张三"},"kind":"traffic-violation","location":{"address":"任市镇中心街与滨河路交叉口","divisionCode":"511723107"},"occurredAt":"2023-07-11T08:30:00+08:00","penalty":{"fineFen":20000,"points":6},"recordId":"sc-traffic:5117230000123456","schemaVersion":1,"source":{"format":"sc-traffic-xml/1","region":"sichuan","system":"sc-traffic"},"status":"pending","updatedAt":"2023-07-11T09:00:00+08:00","vehicle":{"plate":"川S12345","plateType":"02"},"violation":{"code":"1625","description":"驾驶机动车违反道路交通信号灯通行的"}}"#
        )
        #expect(o.summary?.mapping?.id == "sc-traffic-xml")
    }

    @Test func oneBadRecordInABatchDoesNotStopTheOthers() throws {
        let o = translate(scBatch(["川S·12345", "川S·12346", "X123", "川S·12348", "川S·12349"]))
        #expect(o.records.count == 4)
        try #require(o.rejections.count == 1)
        let r = o.rejections[0]
        #expect(r.index == 2)
        #expect(r.recordId == "sc-traffic:5117230000123412")
        #expect(r.errors.count == 1)
        #expect(r.errors.first?.code == .invalidPlate)
        #expect(r.errors.first?.path == "/vehicle/plate")
        #expect(r.errors.first?.source == "/root/body/vio[3]/hphm")
    }

    @Test func missingDriverIdIsReportedWhereItWouldStand() throws {
        let o = translate(scExample.replacingOccurrences(of: "<jszh>511723199001011233</jszh>", with: ""))
        try #require(o.rejections.count == 1)
        #expect(o.rejections[0].errors.map(\.code) == [.missingField])
        #expect(o.rejections[0].errors.first?.path == "/driver/idNumber")
        #expect(o.rejections[0].errors.first?.source == "/root/body/vio/jszh")
    }

    @Test func wrongCheckCharacterIsRejectedWithoutEchoingTheNumber() throws {
        let o = translate(scExample.replacingOccurrences(of: "511723199001011233", with: "511723199001011234"))
        try #require(o.rejections.count == 1)
        let e = try #require(o.rejections[0].errors.first)
        #expect(e.code == .invalidIDNumber)
        #expect(!e.message.contains("511723199001011234"))
        #expect(!e.description.contains("511723199001011234"))
    }

    @Test func sourceErrorRejectsTheWholeDocument() throws {
        let o = translate(scExample.replacingOccurrences(of: "<code>1</code><message>查询成功</message>", with: "<code>0</code><message>系统繁忙</message>"))
        #expect(o.records.isEmpty)
        try #require(o.rejections.count == 1)
        #expect(o.rejections[0].index == nil)
        #expect(o.rejections[0].errors.first?.code == .sourceError)
        #expect(o.rejections[0].errors.first?.message.contains("系统繁忙") == true)
    }

    @Test func chongqingExampleGivesTheDescribedRecord() throws {
        let doc = """
            {"schema":"cq.traffic.violation/1","records":[{"id":"CQ5001552023071100017","vehicle":{"plateNo":"渝F·A1234","plateKind":"小型汽车"},"driver":{"name":"李四","idCard":"500228199001011235"},"occurredAt":1689035400000,"place":{"areaCode":"500155107","address":"新盛镇场镇过境路K2+300","lng":107.86,"lat":30.86},"offence":{"code":"1039","text":"机动车违反规定停放、临时停车"},"fine":200.1,"points":0,"mode":"ONSITE","state":"UNHANDLED","org":{"code":"500155000000","name":"重庆市梁平区公安局交通巡逻警察支队"},"updatedAt":1689036000000}]}
            """
        let o = translate(doc)
        #expect(o.rejections.isEmpty)
        let r = try #require(o.records.first)
        #expect(r["occurredAt"] == "2023-07-11T08:30:00+08:00")
        #expect(r["penalty"]?["fineFen"] == 20010)
        #expect(r["vehicle"]?["plate"] == "渝FA1234")
        #expect(r["vehicle"]?["plateType"] == "02")
        #expect(r["location"]?["longitude"]?.numberValue?.doubleValue == 107.86)
    }

    @Test func unknownDocumentsAreUnknownFormat() {
        let o = translate(#"{"schema":"something/else","records":[]}"#)
        #expect(o.rejections.first?.errors.first?.code == .unknownFormat)
        #expect(o.rejections.first?.index == nil)
    }

    /// Issue 17 row 10: a JSON text with a scalar at top level is well-formed JSON that no mapping
    /// recognises, not a document that is "neither XML nor JSON".
    @Test(arguments: ["null", "42", "-1.5e3", #""x""#, "true", " \r\n\tfalse\n", "\u{FEFF}0"])
    func aTopLevelScalarIsUnknownFormat(_ text: String) throws {
        let o = translate(text)
        #expect(o.records.isEmpty)
        let rejection = try #require(o.rejections.first)
        #expect(o.rejections.count == 1 && rejection.index == nil)
        #expect(rejection.errors.map(\.code) == [.unknownFormat])
    }

    /// What is neither (nor a JSON scalar) stays `malformed-document`, with its message.
    @Test(arguments: ["hello", "nul", "42x", #""unterminated"#, "", "  ", "1 2"])
    func textThatIsNeitherXMLNorJSONIsMalformed(_ text: String) throws {
        let rejection = try #require(translate(text).rejections.first)
        #expect(rejection.errors.map(\.code) == [.malformedDocument])
        #expect(rejection.errors.first?.message == "the document is neither XML nor JSON")
    }

    @Test func anEmptyBatchIsValid() {
        let o = translate(#"{"schema":"cq.traffic.violation/1","records":[]}"#)
        #expect(o.records.isEmpty && o.rejections.isEmpty)
    }
}

@Suite struct HostileDocuments {
    @Test func externalEntityNeverReadsTheFile() throws {
        let doc = """
            <?xml version="1.0"?>
            <!DOCTYPE root [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
            <root><head><code>1</code><jkid>04C03</jkid></head><body><vio><xh>&xxe;</xh></vio></body></root>
            """
        let o = translate(doc)
        #expect(o.records.isEmpty)
        try #require(o.rejections.count == 1)
        #expect(o.rejections[0].errors.first?.code == .malformedDocument)
        let everything = o.rejections.map { $0.json(file: nil).canonicalString }.joined()
        #expect(!everything.contains("root:x:0:0"))
    }

    @Test func billionLaughsIsRejectedQuickly() throws {
        var doc = "<?xml version=\"1.0\"?>\n<!DOCTYPE root [\n<!ENTITY lol \"lol\">\n"
        for i in 1...9 {
            let prev = i == 1 ? "lol" : "lol\(i - 1)"
            doc += "<!ENTITY lol\(i) \"" + String(repeating: "&\(prev);", count: 10) + "\">\n"
        }
        doc += "]>\n<root><head><code>1</code><jkid>04C03</jkid></head><body><vio><xh>&lol9;</xh></vio></body></root>"
        let clock = ContinuousClock()
        var o = Outcomes()
        let elapsed = clock.measure { o = translate(doc) }
        #expect(o.rejections.first?.errors.first?.code == .malformedDocument)
        #expect(elapsed < .seconds(1))
    }

    @Test func deepNestingIsRejected() {
        let doc = "<root>" + String(repeating: "<a>", count: 300) + String(repeating: "</a>", count: 300) + "</root>"
        #expect(translate(doc).rejections.first?.errors.first?.code == .malformedDocument)
    }

    @Test func duplicateJSONMembersAreRejected() {
        let o = translate(#"{"schema":"cq.traffic.violation/1","schema":"x","records":[]}"#)
        #expect(o.rejections.first?.errors.first?.code == .malformedDocument)
    }
}
