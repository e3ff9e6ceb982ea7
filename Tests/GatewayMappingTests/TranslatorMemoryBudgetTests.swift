import Foundation
import GatewayModel
import GatewayXML
import Testing

@testable import GatewayMapping

/// Issue 17 row 3, in process: the translation budget (`Configuration.maxWorkBytes`) refuses a
/// document whole, naming the limit, whether the parse or the records' outcomes pass it, and emits
/// nothing else; without a budget the same documents translate as before. `MemoryBoundTests`
/// measures the real memory on `xgw serve`.
struct TranslatorMemoryBudgetTests {
    static let budget = 1 << 20

    func run(_ text: String, budget: Int? = TranslatorMemoryBudgetTests.budget) -> ([RecordOutcome], DocumentSummary) {
        var limited = translator
        limited.configuration.maxWorkBytes = budget
        var outcomes: [RecordOutcome] = []
        let summary = limited.translate(Array(text.utf8)) { outcomes.append($0) }
        return (outcomes, summary)
    }

    func expectRefused(_ outcomes: [RecordOutcome], _ summary: DocumentSummary, _ what: String) {
        #expect(outcomes.count == 1, "\(what): \(outcomes.count) outcomes")
        let error = summary.documentRejection?.errors.first
        #expect(error?.code == .malformedDocument, "\(what)")
        #expect(error?.message.contains("more than 1 MiB of memory to translate") == true, "\(what): \(error?.message ?? "")")
    }

    @Test(arguments: [
        ("empty elements", "<root>" + String(repeating: "<a/>", count: 10_000) + "</root>"),
        ("attributes", "<root>" + String(repeating: #"<a x="" y=""/>"#, count: 2_000) + "</root>"),
        ("comments", "<root>" + String(repeating: "<!---->", count: 10_000) + "</root>"),
        ("processing instructions", "<root>" + String(repeating: "<?a?>", count: 10_000) + "</root>"),
        ("text between elements", "<root>" + String(repeating: "<a/>x", count: 5_000) + "</root>"),
        ("JSON zeros", "[" + String(repeating: "0,", count: 20_000) + "0]"),
        ("JSON members", "{" + (0..<10_000).map { "\"m\($0)\":0" }.joined(separator: ",") + "}"),
    ])
    func theParseIsCharged(what: String, text: String) {
        // Well under the element and value bounds, and under 100 KiB each.
        #expect(text.utf8.count < 100 << 10)
        let (outcomes, summary) = run(text)
        expectRefused(outcomes, summary, what)
        #expect(summary.documentRejection?.errors.first?.line != nil, "\(what): where the parse stopped")
        // Without a budget the parse goes through (no mapping knows the root).
        let (_, free) = run(text, budget: nil)
        #expect(free.documentRejection?.errors.first?.code == .unknownFormat, "\(what)")
    }

    /// 300 empty records are 1.8 KiB of markup and 300 rejections of eleven errors each: past the
    /// budget, nothing but the refusal is emitted.
    @Test func rejectionsAreCharged() {
        let text = "<root><head><code>1</code><jkid>04C03</jkid></head><body>" + String(repeating: "<vio/>", count: 300) + "</body></root>"
        let (outcomes, summary) = run(text)
        expectRefused(outcomes, summary, "300 empty records")
        #expect(summary.records == 0 && summary.rejected == 1)
        let (free, _) = run(text, budget: nil)
        #expect(free.count == 300)
    }

    /// Translated records are charged too; a handful fit and are emitted in order.
    @Test func translatedRecordsAreChargedAndAFewFit() throws {
        let record = """
            {"id":"CQ-%d","vehicle":{"plateNo":"渝F·A1234","plateKind":"小型汽车"},"driver":{"name":"李四","idCard":"500228199001011235"},\
            "occurredAt":1689035400000,"place":{"areaCode":"500155107","address":"新盛镇场镇过境路K2+300","lng":107.86,"lat":30.86},\
            "offence":{"code":"1039","text":"机动车违反规定停放、临时停车"},"fine":200.0,"points":0,"mode":"ONSITE","state":"UNHANDLED",\
            "org":{"code":"500155000000","name":"重庆市梁平区公安局交通巡逻警察支队"},"updatedAt":1689036000000}
            """
        func document(_ n: Int) -> String {
            #"{"schema":"cq.traffic.violation/1","records":["# + (0..<n).map { record.replacingOccurrences(of: "%d", with: "\($0)") }.joined(separator: ",") + "]}"
        }
        let (few, fewSummary) = run(document(5))
        #expect(fewSummary.documentRejection == nil && fewSummary.records == 5)
        #expect(few.map(\.index) == [0, 1, 2, 3, 4])
        #expect(few.allSatisfy { if case .translated = $0 { true } else { false } })
        let (many, manySummary) = run(document(1_000))
        expectRefused(many, manySummary, "1,000 records in a 1 MiB budget")
    }

    /// libxml2's copy of the input is charged while parsing, two and a half times for a declared
    /// encoding other than UTF-8 (converted to UTF-8 besides).
    @Test func theInputCopyIsCharged() {
        #expect(XMLDocument.inputCost(of: Array("<root/>".utf8)) == 7)
        let gbk = Array(#"<?xml version="1.0" encoding="GBK"?><root/>"#.utf8)
        #expect(XMLDocument.inputCost(of: gbk) == gbk.count * 5 / 2)
        let utf8 = Array(#"<?xml version='1.0' encoding='UTF-8'?><root/>"#.utf8)
        #expect(XMLDocument.inputCost(of: utf8) == utf8.count)
    }
}
