import Testing
@testable import GatewayModel

@Suite struct CanonicalRecordTests {
    @Test func trafficViolationRoundTrips() throws {
        let record = try TrafficViolation(json: Samples.trafficViolation)
        #expect(record.vehicle.plate == "川S12345")
        #expect(record.driver?.idNumber == "511723199001011233")
        #expect(record.occurredAt == LocalDateTime(year: 2023, month: 7, day: 11, hour: 8, minute: 30))
        #expect(record.location.latitude?.text == "30.860")
        #expect(record.penalty == .init(fineFen: 20000, points: 6))
        #expect(record.capture == .site && record.status == .pending)
        #expect(record.recordId == "sc-traffic:5117230000123456")
        #expect(record.json == Samples.trafficViolation)
        #expect(record.json.canonicalBytes() == Samples.trafficViolation.canonicalBytes())
    }

    @Test func enforcementCaseRoundTrips() throws {
        let record = try EnforcementCase(json: Samples.enforcementCase)
        #expect(record.party.type == .organization)
        #expect(record.party.idNumber == nil)
        #expect(record.penalties == [.init(type: .fine, amountFen: 300_000), .init(type: .warning)])
        #expect(record.decidedOn == LocalDate(year: 2023, month: 7, day: 11))
        #expect(record.officers.map(\.certificateNumber) == ["51172301001", "51172301002"])
        #expect(record.domain == .transport && record.status == .closed)
        #expect(record.json == Samples.enforcementCase)
    }

    @Test func bulletinRoundTrips() throws {
        let record = try Bulletin(json: Samples.bulletin)
        #expect(record.audience == ["liangping-xinsheng", "liangping"])
        #expect(record.priority == .urgent)
        #expect(record.attachments.first?.size == 48213)
        #expect(record.body == "第一段。\n\n第二段。")
        #expect(record.json == Samples.bulletin)
    }

    @Test func optionalMembersAreOmitted() throws {
        let withoutOptionals = Samples.changing(
            Samples.changing(Samples.changing(Samples.trafficViolation, "/driver", to: nil), "/location/longitude", to: nil),
            "/violation/description", to: nil)
        let record = try TrafficViolation(json: withoutOptionals)
        #expect(record.driver == nil)
        #expect(record.json == withoutOptionals)
        #expect(record.json["driver"] == nil)

        var bulletin = try Bulletin(json: Samples.bulletin)
        bulletin.attachments = []
        #expect(bulletin.json["attachments"] == nil)
        #expect(try Bulletin(json: bulletin.json) == bulletin)
    }

    @Test func builtInCodeMatchesTheSchema() throws {
        let head = RecordHead(
            recordId: "cq-traffic:CQ5001552023071100017",
            source: RecordSource(region: .chongqing, system: "cq-traffic", format: "cq-traffic-json/1"),
            updatedAt: try #require(LocalDateTime(epochMilliseconds: 1_689_036_000_000)))
        let record = TrafficViolation(
            head: head, vehicle: .init(plate: "渝FA1234", plateType: "02"),
            occurredAt: try #require(LocalDateTime(epochMilliseconds: 1_689_035_400_000)),
            location: .init(divisionCode: "500155107", address: "新盛镇场镇过境路K2+300",
                            longitude: JSONNumber(uncheckedText: "107.86"), latitude: JSONNumber(uncheckedText: "30.86")),
            violation: .init(code: "1039"), penalty: .init(fineFen: 20000, points: 0), capture: .site, status: .pending,
            agency: .init(code: "500155000000", name: "重庆市梁平区公安局交通巡逻警察支队"))
        #expect(CanonicalValidator.validate(record.json) == [])
        #expect(record.json.canonicalString.hasPrefix(#"{"agency":{"code":"500155000000","#))
        #expect(record.json["updatedAt"] == "2023-07-11T08:40:00+08:00")
        #expect(try TrafficViolation(json: record.json) == record)
    }

    @Test func invalidRecordsThrowEveryProblem() {
        let bad = Samples.changing(Samples.changing(Samples.trafficViolation, "/vehicle/plate", to: "X"), "/status", to: nil)
        #expect {
            try TrafficViolation(json: bad)
        } throws: { error in
            let codes = (error as? InvalidRecordError)?.errors.map(\.code) ?? []
            return Set(codes) == [.invalidPlate, .missingField]
        }
        // The right schema but the wrong type asked for.
        #expect(throws: InvalidRecordError.self) { try Bulletin(json: Samples.trafficViolation) }
        #expect(throws: InvalidRecordError.self) { try EnforcementCase(json: Samples.changing(Samples.enforcementCase, "/officers", to: [])) }
    }

    @Test func canonicalRecordDispatchesOnKind() throws {
        let kinds: [RecordKind] = [.trafficViolation, .enforcementCase, .bulletin]
        for (json, kind) in zip(Samples.all, kinds) {
            let record = try CanonicalRecord(json: json)
            #expect(record.kind == kind)
            #expect(record.json == json)
            #expect(record.recordId == json["recordId"]?.stringValue)
            #expect(record.updatedAt.instantString == json["updatedAt"]?.stringValue)
            #expect(record.source.region == .sichuan)
            #expect(record.source.format == json["source"]?["format"]?.stringValue)
        }
        #expect(throws: InvalidRecordError.self) { try CanonicalRecord(json: ["kind": "memo"]) }
        #expect(RecordKind(rawValue: "enforcement-case") == .enforcementCase)
        #expect(Region.allCases.map(\.rawValue) == ["sichuan", "chongqing"])
    }

    @Test func personalDataIsMaskedInDescriptions() throws {
        let record = try TrafficViolation(json: Samples.trafficViolation)
        let text = "\(record.driver!)"
        #expect(text == "Driver(张*, 511723********1233)")
        for printed in ["\(record)", String(reflecting: record), "\(try CanonicalRecord(json: Samples.trafficViolation))"] {
            #expect(printed == "traffic-violation sc-traffic:5117230000123456")
        }
        let officer = EnforcementCase.Officer(name: "王五", certificateNumber: "51172301001")
        #expect("\(officer)" == "Officer(王*, 51172301001)")
        let party = EnforcementCase.Party(type: .person, name: "李四", idNumber: "500228199001011235")
        #expect(!"\(party)".contains("李四") && !"\(party)".contains("500228199001011235"))
    }
}
