import Foundation
import Testing
@testable import GatewayModel

/// The canonical record is one model, the `JSONValue` the pipeline builds and validates: every
/// record the fixtures expect reads, validates and writes back byte for byte, and
/// `CanonicalRecordView` reads the members code needs from it.
@Suite struct CanonicalRecordTests {
    /// Every line of every `Fixtures/*/*.expected.ndjson`, with where it stands.
    static let fixtureRecords: [(place: String, bytes: [UInt8])] = {
        let fixtures = TestData.packageRoot.appendingPathComponent("Fixtures")
        var records: [(String, [UInt8])] = []
        let folders = (try? FileManager.default.contentsOfDirectory(atPath: fixtures.path)) ?? []
        for folder in folders.sorted() {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: fixtures.appendingPathComponent(folder).path)) ?? []
            for name in names.sorted() where name.hasSuffix(".expected.ndjson") {
                let data = (try? Data(contentsOf: fixtures.appendingPathComponent(folder).appendingPathComponent(name))) ?? Data()
                for (line, bytes) in data.split(separator: UInt8(ascii: "\n")).enumerated() {
                    records.append(("\(folder)/\(name):\(line + 1)", Array(bytes)))
                }
            }
        }
        return records
    }()

    @Test func everyFixtureRecordRoundTripsAndValidates() throws {
        // Every mapping contributes records of its kind (the fixtures have 237 today).
        #expect(Self.fixtureRecords.count >= 200)
        var kinds: [RecordKind: Int] = [:]
        for (place, bytes) in Self.fixtureRecords {
            let record = try JSONParser.parse(bytes)
            #expect(record.canonicalBytes() == bytes, "\(place): not written back byte for byte")
            #expect(CanonicalValidator.validate(record) == [], "\(place)")
            let view = record.canonicalRecord
            let kind = try #require(view.kind, "\(place)")
            kinds[kind, default: 0] += 1
            // The view reads the head exactly as written.
            #expect(view.updatedAt?.instantString == record["updatedAt"]?.stringValue, "\(place)")
            #expect(view.recordId?.hasPrefix((view.system ?? "-") + ":") == true, "\(place)")
            #expect(view.mappingID.map { place.hasPrefix($0 + "/") } == true, "\(place): source.format names another mapping")
        }
        #expect(Set(kinds.keys) == Set(RecordKind.allCases))
    }

    @Test func samplesRoundTrip() throws {
        for sample in Samples.all {
            #expect(CanonicalValidator.validate(sample) == [])
            // JCS reorders members (objects compare in document order), so compare the JCS forms.
            let written = sample.canonicalBytes()
            #expect(try JSONParser.parse(written).canonicalBytes() == written)
            #expect(CanonicalValidator.validate(try JSONParser.parse(written)) == [])
        }
        // Exact decimal text is kept: the latitude is still 30.860, written 30.86 only in JCS form.
        #expect(Samples.trafficViolation["location"]?["latitude"]?.numberValue?.text == "30.860")
        #expect(Samples.trafficViolation.canonicalString.contains(#""latitude":30.86,"#))
        #expect(Samples.bulletin["body"] == "第一段。\n\n第二段。")
    }

    @Test func viewReadsTheHeadOfEveryKind() throws {
        let kinds: [RecordKind] = [.trafficViolation, .enforcementCase, .bulletin]
        for (json, kind) in zip(Samples.all, kinds) {
            let view = CanonicalRecordView(json)
            #expect(view.kind == kind && view.kindName == kind.rawValue)
            #expect(view.json == json)
            #expect(view.recordId == json["recordId"]?.stringValue)
            #expect(view.updatedAt?.instantString == json["updatedAt"]?.stringValue)
            #expect(view.region == "sichuan")
            #expect(view.format == json["source"]?["format"]?.stringValue)
            #expect(view.mappingID == view.format?.split(separator: "/").first.map(String.init))
        }
        let traffic = Samples.trafficViolation.canonicalRecord
        #expect(traffic.recordId == "sc-traffic:5117230000123456" && traffic.system == "sc-traffic")
        #expect(traffic.updatedAt == LocalDateTime(year: 2023, month: 7, day: 11, hour: 9))
        #expect(traffic.issuer == nil)
        #expect(Samples.bulletin.canonicalRecord.issuer == "kaijiang-renshi")
        #expect(RecordKind(rawValue: "enforcement-case") == .enforcementCase)
        #expect(Region.allCases.map(\.rawValue) == ["sichuan", "chongqing"])
    }

    /// A record not validated yet reads member by member: what is absent, of another type or not
    /// one of the schema's values is nil, never a trap.
    @Test func viewOfAnInvalidRecordReadsNilNotATrap() {
        let memo = CanonicalRecordView(["kind": "memo", "recordId": 7, "updatedAt": "2023-02-30T00:00:00+08:00", "source": "x"])
        #expect(memo.kindName == "memo" && memo.kind == nil)
        #expect(memo.recordId == nil && memo.updatedAt == nil)
        #expect(memo.region == nil && memo.format == nil && memo.mappingID == nil)
        #expect(CanonicalValidator.validate(memo.json).map(\.code) == [.invalidValue])
        let scalar = JSONValue.string("traffic-violation").canonicalRecord
        #expect(scalar.kind == nil && scalar.recordId == nil && scalar.issuer == nil)
        // Not the canonical instant form (seconds and +08:00 required), so no updatedAt.
        #expect(Samples.changing(Samples.bulletin, "/updatedAt", to: "2023-07-11T02:05:00Z").canonicalRecord.updatedAt == nil)
    }

    @Test func optionalMembersMayBeAbsent() {
        let withoutOptionals = Samples.changing(
            Samples.changing(Samples.changing(Samples.trafficViolation, "/driver", to: nil), "/location/longitude", to: nil),
            "/violation/description", to: nil)
        #expect(CanonicalValidator.validate(withoutOptionals) == [])
        #expect(withoutOptionals["driver"] == nil)
        #expect(CanonicalValidator.validate(Samples.changing(Samples.bulletin, "/attachments", to: nil)) == [])
        #expect(CanonicalValidator.validate(Samples.changing(Samples.bulletin, "/attachments", to: [])) == [])
        #expect(CanonicalValidator.validate(Samples.changing(Samples.enforcementCase, "/penalties/0/note", to: "当场缴纳")) == [])
    }

    /// A record written in code (as the mappings do) with an instant from epoch milliseconds.
    @Test func recordBuiltInCodeMatchesTheSchema() throws {
        let updatedAt = try #require(LocalDateTime(epochMilliseconds: 1_689_036_000_000))
        let occurredAt = try #require(LocalDateTime(epochMilliseconds: 1_689_035_400_000))
        let record: JSONValue = [
            "kind": "traffic-violation", "schemaVersion": 1, "recordId": "cq-traffic:CQ5001552023071100017",
            "source": ["region": "chongqing", "system": "cq-traffic", "format": "cq-traffic-json/1"],
            "updatedAt": .string(updatedAt.instantString),
            "vehicle": ["plate": "渝FA1234", "plateType": "02"],
            "occurredAt": .string(occurredAt.instantString),
            "location": [
                "divisionCode": "500155107", "address": "新盛镇场镇过境路K2+300",
                "longitude": .number(JSONNumber(uncheckedText: "107.86")), "latitude": .number(JSONNumber(uncheckedText: "30.86")),
            ],
            "violation": ["code": "1039"], "penalty": ["fineFen": 20000, "points": 0], "capture": "site", "status": "pending",
            "agency": ["code": "500155000000", "name": "重庆市梁平区公安局交通巡逻警察支队"],
        ]
        #expect(CanonicalValidator.validate(record) == [])
        #expect(record.canonicalString.hasPrefix(#"{"agency":{"code":"500155000000","#))
        #expect(record["updatedAt"] == "2023-07-11T08:40:00+08:00")
        #expect(record.canonicalRecord.updatedAt == updatedAt)
    }

    /// Every problem at once, each at its path; a record of one kind is not another.
    @Test func invalidRecordsReportEveryProblem() {
        let bad = Samples.changing(Samples.changing(Samples.trafficViolation, "/vehicle/plate", to: "X"), "/status", to: nil)
        #expect(Set(CanonicalValidator.validate(bad).map(\.code)) == [.invalidPlate, .missingField])
        #expect(Samples.trafficViolation.canonicalRecord.kind != .bulletin)
        let closedWithoutOfficers = Samples.changing(Samples.enforcementCase, "/officers", to: [])
        #expect(CanonicalValidator.validate(closedWithoutOfficers).map(\.code) == [.insufficientOfficers])
    }

    /// Each enumeration of `canonical.schema.json` is what the validator accepts: every value of
    /// it at its member, and nothing else there.
    @Test func enumerationsMatchTheSchema() throws {
        let schema = try JSONParser.parse(
            Array(try Data(contentsOf: TestData.packageRoot.appendingPathComponent("docs/spec/canonical.schema.json"))))
        let members: [(definition: String, record: JSONValue, pointer: String)] = [
            ("/$defs/region", Samples.trafficViolation, "/source/region"),
            ("/$defs/trafficViolation/properties/capture", Samples.trafficViolation, "/capture"),
            ("/$defs/trafficViolation/properties/status", Samples.trafficViolation, "/status"),
            ("/$defs/trafficViolation/properties/penalty/properties/points", Samples.trafficViolation, "/penalty/points"),
            ("/$defs/enforcementCase/properties/domain", Samples.enforcementCase, "/domain"),
            ("/$defs/enforcementCase/properties/party/properties/type", Samples.enforcementCase, "/party/type"),
            ("/$defs/enforcementCase/properties/penalties/items/properties/type", Samples.enforcementCase, "/penalties/1/type"),
            ("/$defs/enforcementCase/properties/status", Samples.enforcementCase, "/status"),
            ("/$defs/bulletin/properties/priority", Samples.bulletin, "/priority"),
        ]
        for (definition, record, pointer) in members {
            let enumeration = try #require(JSONPointer(definition + "/enum"))
            let values = try #require(schema.value(at: enumeration)?.arrayValue, "\(definition)")
            #expect(values.count >= 2)
            for value in values + ["other-than-these", 5] {
                let errors = CanonicalValidator.validate(Samples.changing(record, pointer, to: value)).filter { $0.path == pointer }
                #expect(errors.isEmpty == values.contains(value), "\(pointer) = \(value.canonicalString)")
            }
        }
    }

    /// A view's description names the record by kind and id only: printing it leaks no personal data.
    @Test func descriptionsLeakNoPersonalData() {
        let view = Samples.trafficViolation.canonicalRecord
        for printed in ["\(view)", String(reflecting: view)] {
            #expect(printed == "traffic-violation sc-traffic:5117230000123456")
            #expect(!printed.contains("张三") && !printed.contains("511723199001011233"))
        }
        #expect("\(CanonicalRecordView(["a": 1]))" == "record without recordId")
    }
}
