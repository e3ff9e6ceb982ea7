import Foundation
import GatewayModel
import Testing

@testable import GatewayMapping

/// Issue 14 items 1–2: rendering canonical records into each regional format, checked by the
/// round trip `translate(render(r, F)) == r` (outside the members F declares lossy).
@Suite struct RenderRoundTripTests {
    static let renderers: [String: Renderer] = {
        var out: [String: Renderer] = [:]
        for m in translator.mappings {
            do { out[m.id] = try Renderer(mapping: m) } catch { fatalError("no way back for \(m.id): \(error)") }
        }
        return out
    }()

    static let formats = translator.mappings.map(\.id).sorted()

    /// Every canonical record the fixtures expect, by kind.
    static let fixtureRecords: [String: [JSONValue]] = {
        var out: [String: [JSONValue]] = [:]
        let root = packageRoot + "/Fixtures"
        let folders = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        for folder in folders.sorted() {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: root + "/" + folder)) ?? []
            for file in files.sorted() where file.hasSuffix(".expected.ndjson") {
                let text = (try? String(contentsOfFile: root + "/" + folder + "/" + file, encoding: .utf8)) ?? ""
                for line in text.split(separator: "\n") where !line.isEmpty {
                    guard let r = try? JSONParser.parse(Array(line.utf8)), let kind = r["kind"]?.stringValue else { continue }
                    out[kind, default: []].append(r)
                }
            }
        }
        return out
    }()

    func renderer(_ id: String) -> Renderer { Self.renderers[id]! }

    /// Renders one record (unverified, so that the renderer itself is under test), translates it
    /// back and compares; a lossy format must at least give the same document a second time.
    func roundTrip(_ record: JSONValue, _ format: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let r = renderer(format)
        let result = r.render([record], verify: false)
        guard let document = result.document else {
            Issue.record("\(format) refused \(record["recordId"]?.stringValue ?? "?"): \(result.refusals)", sourceLocation: sourceLocation)
            return
        }
        let back = translate(document, mapping: format)
        #expect(back.rejections.isEmpty, "\(format): \(back.rejections) for \(String(decoding: document, as: UTF8.self))", sourceLocation: sourceLocation)
        guard back.records.count == 1 else {
            Issue.record("\(format): \(back.records.count) records back", sourceLocation: sourceLocation)
            return
        }
        let expected = r.expectedBack(record)
        let got = r.withoutLossy(back.records[0])
        #expect(
            got.canonicalString == expected.canonicalString,
            "\(format) \(record["recordId"]?.stringValue ?? "?"): differs at \(Renderer.differences(expected, got))",
            sourceLocation: sourceLocation)
        #expect(r.render([back.records[0]], verify: false).document == document, "\(format): a second trip changes the document", sourceLocation: sourceLocation)
    }

    @Test(arguments: formats)
    func everyFixtureRecordComesBack(format: String) throws {
        let records = Self.fixtureRecords[renderer(format).mapping.kind] ?? []
        #expect(records.count > 20)
        for record in records { roundTrip(record, format) }
    }

    @Test(arguments: formats)
    func aBatchComesBackInOrder(format: String) throws {
        let r = renderer(format)
        let records = Array((Self.fixtureRecords[r.mapping.kind] ?? []).prefix(r.batchLimit ?? 50))
        let result = r.render(records)
        #expect(result.refusals.isEmpty, "\(result.refusals)")
        let back = translate(try #require(result.document), mapping: format)
        #expect(back.records.map { r.withoutLossy($0).canonicalString } == records.map { r.expectedBack($0).canonicalString })
    }

    /// Base records to vary, one per kind (a closed case with two officers and a decision date).
    static func base(_ kind: String) -> JSONValue {
        let all = fixtureRecords[kind] ?? []
        if kind == "enforcement-case" {
            return all.first { ($0["officers"]?.arrayValue?.count ?? 0) >= 2 && $0["decidedOn"] != nil && $0["party"]?["type"] == .string("organization") }!
        }
        return all.first { $0["driver"] != nil || kind != "traffic-violation" }!
    }

    static func setting(_ record: JSONValue, _ pointer: [String], _ value: JSONValue) -> JSONValue {
        guard case .object(var o) = record, let first = pointer.first else { return value }
        if pointer.count == 1 {
            o[first] = value
            return .object(o)
        }
        if case .array(var a)? = o[first], let i = Int(pointer[1]) {
            a[i] = setting(a[i], Array(pointer.dropFirst(2)), value)
            o[first] = .array(a)
        } else {
            o[first] = setting(o[first] ?? .object(JSONObject()), Array(pointer.dropFirst()), value)
        }
        return .object(o)
    }

    /// Every code of every code table and every value of the small enumerations, in every format
    /// of its kind.
    @Test func everyCodeOfEveryTableComesBack() throws {
        var variations: [(kind: String, pointer: [String], values: [String])] = [
            ("traffic-violation", ["vehicle", "plateType"], translator.seeds.codeTables["plate-types"]!.entries.map(\.value)),
            ("traffic-violation", ["capture"], ["site", "camera"]),
            ("traffic-violation", ["status"], ["pending", "processed", "paid"]),
            ("enforcement-case", ["domain"], translator.seeds.codeTables["case-domains"]!.entries.map(\.value)),
            ("enforcement-case", ["status"], translator.seeds.codeTables["case-statuses"]!.entries.map(\.value)),
            ("bulletin", ["priority"], ["normal", "urgent"]),
        ]
        variations.append(
            ("enforcement-case", ["penalties", "0", "type"], translator.seeds.codeTables["penalty-types"]!.entries.map(\.value)))
        #expect(variations.reduce(0) { $0 + $1.values.count } > 60)
        for v in variations {
            for value in v.values {
                var record = Self.setting(Self.base(v.kind), v.pointer, .string(value))
                if v.pointer.first == "penalties" {
                    record = Self.setting(record, ["penalties", "0", "amountFen"], .number(JSONNumber(value == "fine" ? 12345 : 0)))
                }
                if v.kind == "traffic-violation" && value == "camera" {
                    guard case .object(var o) = record else { continue }
                    o.members.removeAll { $0.key == "driver" }
                    record = .object(o)
                }
                #expect(CanonicalValidator.validate(record).isEmpty, "\(v.pointer) \(value)")
                for format in Self.formats where renderer(format).mapping.kind == v.kind { roundTrip(record, format) }
            }
        }
    }

    @Test func bothPartyTypesComeBack() throws {
        let person = try #require((Self.fixtureRecords["enforcement-case"] ?? []).first { $0["party"]?["idNumber"] != nil })
        let organization = try #require((Self.fixtureRecords["enforcement-case"] ?? []).first { $0["party"]?["creditCode"] != nil })
        for format in ["sc-case-json", "cq-case-xml"] {
            roundTrip(person, format)
            roundTrip(organization, format)
        }
    }

    // MARK: - Refusals

    @Test func aRecordWithoutARequiredMemberIsRefusedNamingIt() throws {
        let record = Self.base("traffic-violation")
        guard case .object(var o) = record, case .object(var vehicle)? = o["vehicle"] else { throw CancellationError() }
        vehicle.members.removeAll { $0.key == "plate" }
        o["vehicle"] = .object(vehicle)
        for format in ["sc-traffic-xml", "cq-traffic-json"] {
            let result = renderer(format).render([.object(o), record])
            #expect(result.refusals.count == 1)
            #expect(result.refusals.first?.index == 0)
            #expect(result.refusals.first?.errors.contains { $0.code == .missingField && $0.path == "/vehicle/plate" } == true, "\(result.refusals)")
            #expect(result.rendered == [1])
            let back = translate(try #require(result.document), mapping: format)
            #expect(back.records.count == 1)
        }
        let alone = renderer("cq-traffic-json").render([.object(o)])
        #expect(alone.document == nil)
    }

    @Test func aRecordOfAnotherKindIsRefused() {
        let result = renderer("sc-traffic-xml").render([Self.base("bulletin")])
        #expect(result.document == nil)
        #expect(result.refusals.first?.errors.first?.code == .wrongKind)
    }

    @Test func aLossThatIsNotDeclaredIsRefusedNamingTheMember() throws {
        // A paragraph that ends in white space cannot come back from DL or <p> (text is trimmed).
        let record = Self.setting(Self.base("bulletin"), ["body"], .string("第一段。\n\n第二段\n\n\n\n第三段。"))
        #expect(CanonicalValidator.validate(record).isEmpty)
        for format in ["sc-bulletin-xml", "cq-bulletin-json"] {
            let result = renderer(format).render([record])
            #expect(result.document == nil)
            #expect(result.refusals.first?.errors.first?.code == .unrenderable)
            #expect(result.refusals.first?.errors.first?.path == "/body", "\(result.refusals)")
        }
    }

    @Test func declaredLossesAreRenderedAndListed() throws {
        var record = Self.setting(Self.base("enforcement-case"), ["penalties", "0", "note"], .string("当场收缴"))
        record = Self.setting(record, ["status"], .string("closed"))
        for format in ["sc-case-json", "cq-case-xml"] {
            let r = renderer(format)
            #expect(r.mapping.render.isLossy("/penalties/0/note"))
            let result = r.render([record])
            #expect(result.refusals.isEmpty, "\(result.refusals)")
            #expect(result.document != nil)
        }
        let seconds = Self.setting(Self.base("bulletin"), ["issuedAt"], .string("2023-07-11T10:00:30+08:00"))
        let sc = renderer("sc-bulletin-xml").render([seconds])
        #expect(sc.refusals.isEmpty)
        let back = translate(try #require(sc.document), mapping: "sc-bulletin-xml")
        #expect(back.records.first?["issuedAt"] == .string("2023-07-11T10:00:00+08:00"))
        #expect(renderer("cq-bulletin-json").render([seconds]).refusals.isEmpty)
    }

    @Test func aBulletinFormatHoldsOneRecordPerDocument() {
        let records = Array((Self.fixtureRecords["bulletin"] ?? []).prefix(2))
        for format in ["sc-bulletin-xml", "cq-bulletin-json"] {
            let result = renderer(format).render(records)
            #expect(result.rendered == [0])
            #expect(result.refusals.map(\.index) == [1])
        }
    }

    // MARK: - What each format looks like

    @Test func sichuanTrafficIsGBKWithTheOracleTimesAndTheAnswerHead() throws {
        let record = Self.setting(Self.base("traffic-violation"), ["location", "address"], .string("任市镇𠀀街"))
        let document = try #require(renderer("sc-traffic-xml").render([record]).document)
        let head = String(decoding: document.prefix(40), as: UTF8.self)
        #expect(head.hasPrefix("<?xml version=\"1.0\" encoding=\"GBK\"?>"))
        // 查询成功 in GBK bytes, not UTF-8; the character GBK lacks as a character reference.
        #expect(document.contains(subsequence: [0xB2, 0xE9, 0xD1, 0xAF, 0xB3, 0xC9, 0xB9, 0xA6]))
        #expect(!document.contains(subsequence: Array("查询成功".utf8)))
        #expect(document.contains(subsequence: Array("&#x20000;".utf8)) || document.contains(subsequence: Array("&#131072;".utf8)))
        let text = String(decoding: document, as: UTF8.self)
        #expect(text.contains("<rownum>1</rownum>"))
        #expect(text.contains("<vio id=\"0\">"))
        #expect(text.range(of: "<wfsj>[0-9-]{10} [0-9:]{8}\\.0</wfsj>", options: .regularExpression) != nil)
        let back = translate(document, mapping: "sc-traffic-xml")
        #expect(back.records.first?["location"]?["address"] == .string("任市镇𠀀街"))
    }

    @Test func chongqingCasesHaveTheirNamespaceCDATAAndBasisText() throws {
        let record = Self.setting(Self.base("enforcement-case"), ["facts"], .string("当事人<未按规定>运输 ]]> & 其他"))
        let document = try #require(renderer("cq-case-xml").render([record]).document)
        let text = String(decoding: document, as: UTF8.self)
        #expect(text.contains("<CaseList xmlns=\"urn:cq:zhzf:case:1\">"))
        #expect(text.contains("<Facts><![CDATA["))
        #expect(text.contains("<Basis>《"))
        #expect(text.range(of: "amount=\"[0-9]+\\.[0-9]{2}\"", options: .regularExpression) != nil)
        #expect(translate(document, mapping: "cq-case-xml").records.first?["facts"] == record["facts"])
    }

    @Test func chongqingBulletinsCarryHTMLAndABoolean() throws {
        let record = Self.setting(Self.base("bulletin"), ["body"], .string("第一段 <b>不是标签</b> & 符号。\n\n第二段\n换行。"))
        let document = try #require(renderer("cq-bulletin-json").render([record]).document)
        let json = try JSONParser.parse(document)
        let content = try #require(json["bulletin"]?["content"]?.stringValue)
        #expect(content == "<p>第一段 &lt;b&gt;不是标签&lt;/b&gt; &amp; 符号。</p><p>第二段<br>换行。</p>")
        #expect(json["bulletin"]?["urgent"]?.boolValue != nil)
        #expect(json["schema"] == .string("cq.alliance.bulletin/1"))
    }

    @Test func moneyIsWrittenExactlyInTheFormatsUnit() {
        #expect(Inverse.decimal(20000, power: 2, decimals: 0) == "200")
        #expect(Inverse.decimal(20010, power: 2, decimals: 1) == "200.1")
        #expect(Inverse.decimal(20000, power: 2, decimals: 1) == "200.0")
        #expect(Inverse.decimal(1, power: 2, decimals: 2) == "0.01")
        #expect(Inverse.decimal(300000, power: 6, decimals: 0) == "0.3")
        #expect(Inverse.decimal(1, power: 6, decimals: 0) == "0.000001")
        #expect(Inverse.decimal(0, power: 2, decimals: 0) == "0")
        #expect(Inverse.decimal(300000000, power: 2, decimals: 2) == "3000000.00")
    }
}

extension Array where Element == UInt8 {
    func contains(subsequence: [UInt8]) -> Bool {
        guard !subsequence.isEmpty, subsequence.count <= count else { return false }
        for i in 0...(count - subsequence.count) where self[i] == subsequence[0] {
            if Array(self[i..<(i + subsequence.count)]) == subsequence { return true }
        }
        return false
    }
}
