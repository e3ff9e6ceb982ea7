import Testing
@testable import GatewayModel

@Suite struct CanonicalValidatorTests {
    typealias Change = (pointer: String, value: JSONValue?, code: String)

    func problems(_ record: JSONValue) -> [String] {
        CanonicalValidator.validate(record).map { "\($0.code) \($0.path ?? "-")" }
    }

    @Test func samplesAreValid() {
        for record in Samples.all {
            #expect(CanonicalValidator.validate(record) == [], "\(record["kind"] ?? nil)")
        }
    }

    @Test func kindSelectsTheSchema() {
        #expect(problems(Samples.changing(Samples.bulletin, "/kind", to: nil)) == ["missing-field /kind"])
        #expect(problems(Samples.changing(Samples.bulletin, "/kind", to: "memo")) == ["invalid-value /kind"])
        #expect(problems(Samples.changing(Samples.bulletin, "/kind", to: 3)) == ["invalid-value /kind"])
        #expect(problems(["a": 1]) == ["missing-field /kind"])
        #expect(problems([1]) == ["invalid-value "])
        // A bulletin labelled as a traffic violation misses that kind's members and has unknown ones.
        let relabelled = problems(Samples.changing(Samples.bulletin, "/kind", to: "traffic-violation"))
        #expect(relabelled.contains("missing-field /vehicle"))
        #expect(relabelled.contains("invalid-value /title"))
    }

    @Test(arguments: [
        ("/schemaVersion", nil, "missing-field"), ("/schemaVersion", 2, "invalid-value"),
        ("/schemaVersion", "1", "invalid-value"),
        ("/recordId", nil, "missing-field"), ("/recordId", "sc-traffic", "invalid-value"),
        ("/recordId", "Sc-traffic:1", "invalid-value"), ("/recordId", "sc-traffic:a b", "invalid-value"),
        ("/recordId", .string("sc-traffic:" + String(repeating: "9", count: 65)), "invalid-value"),
        ("/source", nil, "missing-field"), ("/source/region", "beijing", "invalid-value"),
        ("/source/system", "x", "invalid-value"), ("/source/format", "sc-traffic-xml", "invalid-value"),
        ("/source/format", "sc-traffic-xml/v1", "invalid-value"), ("/source/extra", 1, "invalid-value"),
        ("/updatedAt", "2023-07-11T09:00:00Z", "invalid-datetime"),
        ("/updatedAt", "2023-02-30T09:00:00+08:00", "invalid-datetime"), ("/updatedAt", 1, "invalid-datetime"),
        ("/vehicle", nil, "missing-field"), ("/vehicle", "川S12345", "invalid-value"),
        ("/vehicle/plate", "川S·12345", "invalid-plate"), ("/vehicle/plate", 12345, "invalid-plate"),
        ("/vehicle/plateType", "2", "invalid-value"), ("/vehicle/color", "blue", "invalid-value"),
        ("/driver/name", "", "invalid-value"), ("/driver/idNumber", nil, "missing-field"),
        ("/driver/idNumber", "511723199001011234", "invalid-id-number"),
        ("/driver/idNumber", "511723900101123", "invalid-id-number"),
        ("/occurredAt", "2023-07-11 08:30:00", "invalid-datetime"),
        ("/location/divisionCode", "051172", "invalid-value"), ("/location/address", "", "invalid-value"),
        ("/location/longitude", 136.5, "invalid-value"), ("/location/latitude", 2.99, "invalid-value"),
        ("/location/longitude", "107.86", "invalid-value"),
        ("/violation/code", "162", "invalid-value"), ("/violation/description", .string(String(repeating: "字", count: 201)), "invalid-value"),
        ("/penalty/fineFen", -1, "invalid-amount"), ("/penalty/fineFen", 200.5, "invalid-amount"),
        ("/penalty/fineFen", 100000000001, "invalid-amount"), ("/penalty/fineFen", "200", "invalid-amount"),
        ("/penalty/points", 2, "invalid-value"), ("/penalty/points", 13, "invalid-value"),
        ("/capture", "drone", "invalid-value"), ("/status", "PAID", "invalid-value"),
        ("/agency/code", "12345", "invalid-value"), ("/agency/name", nil, "missing-field"),
        ("/weather", "rain", "invalid-value"),
    ] as [Change])
    func trafficViolationRules(pointer: String, value: JSONValue?, code: String) {
        #expect(problems(Samples.changing(Samples.trafficViolation, pointer, to: value)) == ["\(code) \(pointer)"])
    }

    @Test func integralNumbersAndBoundsFollowJSONSchema() {
        let exact = JSONValue.number(JSONNumber(uncheckedText: "2.0e4"))
        #expect(problems(Samples.changing(Samples.trafficViolation, "/penalty/fineFen", to: exact)) == [])
        #expect(problems(Samples.changing(Samples.trafficViolation, "/penalty/fineFen", to: 100000000000)) == [])
        #expect(problems(Samples.changing(Samples.trafficViolation, "/penalty/fineFen", to: 0)) == [])
        #expect(problems(Samples.changing(Samples.trafficViolation, "/location/longitude", to: 136)) == [])
        #expect(problems(Samples.changing(Samples.trafficViolation, "/location/longitude", to: 73)) == [])
        let justAbove = JSONValue.number(JSONNumber(uncheckedText: "136.0000000000000001"))
        #expect(problems(Samples.changing(Samples.trafficViolation, "/location/longitude", to: justAbove)) == ["invalid-value /location/longitude"])
        #expect(problems(Samples.changing(Samples.trafficViolation, "/schemaVersion", to: 1.0)) == [])
        #expect(problems(Samples.changing(Samples.trafficViolation, "/driver", to: nil)) == [])
    }

    @Test(arguments: [
        ("/caseNumber", "开交", "invalid-value"), ("/domain", "traffic", "invalid-value"),
        ("/party/type", "company", "invalid-value"), ("/party/name", nil, "missing-field"),
        ("/party/creditCode", "91511723MA62B4K7Q2", "invalid-credit-code"),
        ("/party/creditCode", "91511723MA62B4K7QI", "invalid-credit-code"),
        ("/facts", "", "invalid-value"), ("/legalBasis", [], "invalid-value"), ("/legalBasis/0/law", nil, "missing-field"),
        ("/legalBasis/0/article", 63, "invalid-value"), ("/penalties", nil, "missing-field"),
        ("/penalties/1/type", "caning", "invalid-value"), ("/penalties/0/amountFen", 0.001, "invalid-amount"),
        ("/penalties/1/note", .string(String(repeating: "x", count: 201)), "invalid-value"),
        ("/decidedOn", "2023-7-11", "invalid-datetime"), ("/decidedOn", "2023-02-29", "invalid-datetime"),
        ("/officers/0/certificateNumber", "abc123", "invalid-value"), ("/officers/1/name", "", "invalid-value"),
        ("/officers/0/badge", "1", "invalid-value"),
        ("/jurisdiction", "51172", "invalid-value"), ("/status", "open", "invalid-value"),
    ] as [Change])
    func enforcementCaseRules(pointer: String, value: JSONValue?, code: String) {
        #expect(problems(Samples.changing(Samples.enforcementCase, pointer, to: value)) == ["\(code) \(pointer)"])
    }

    @Test(arguments: [
        ("/title", "", "invalid-value"), ("/body", nil, "missing-field"),
        ("/issuedBy/org", "Kaijiang", "invalid-value"), ("/issuedBy/name", nil, "missing-field"),
        ("/issuedAt", "2023-07-11T10:00+08:00", "invalid-datetime"), ("/audience", [], "invalid-value"),
        ("/audience/1", "liang ping", "invalid-value"), ("/audience/1", "liangping-xinsheng", "invalid-value"),
        ("/priority", "high", "invalid-value"), ("/attachments/0/mediaType", "PDF", "invalid-value"),
        ("/attachments/0/sha256", "E9F6ED2CB6C25D2BF09425A1A6A1F1263468CDC4AA87A8883FE85F6E06A763CE", "invalid-value"),
        ("/attachments/0/size", -1, "invalid-value"), ("/attachments/0/size", 1.5, "invalid-value"),
        ("/attachments/0/name", nil, "missing-field"), ("/attachments", "none", "invalid-value"),
    ] as [Change])
    func bulletinRules(pointer: String, value: JSONValue?, code: String) {
        #expect(problems(Samples.changing(Samples.bulletin, pointer, to: value)) == ["\(code) \(pointer)"])
    }

    @Test func reportsEveryProblemAtOnce() {
        var record = Samples.trafficViolation
        record = Samples.changing(record, "/vehicle/plate", to: "XX")
        record = Samples.changing(record, "/penalty/fineFen", to: -5)
        record = Samples.changing(record, "/status", to: nil)
        record = Samples.changing(record, "/driver/idNumber", to: "511723199001011234")
        #expect(Set(problems(record)) == [
            "invalid-plate /vehicle/plate", "invalid-amount /penalty/fineFen", "missing-field /status",
            "invalid-id-number /driver/idNumber",
        ])
    }

    @Test func messagesAreMasked() {
        var record = Samples.changing(Samples.trafficViolation, "/driver/idNumber", to: "511723199001011234")
        record = Samples.changing(record, "/driver/name", to: .string(String(repeating: "张", count: 51)))
        let errors = CanonicalValidator.validate(record)
        #expect(errors.count == 2)
        for error in errors {
            #expect(!error.message.contains("511723199001011234"))
            #expect(!error.message.contains("张张"))
            #expect(!error.description.contains("199001011234"))
        }
        #expect(errors.contains { $0.message.contains("511723********1234") })
    }

    @Test func caseDomainRules() {
        let noDate = Samples.changing(Samples.enforcementCase, "/decidedOn", to: nil)
        #expect(problems(noDate) == ["missing-field /decidedOn"])
        #expect(problems(Samples.changing(noDate, "/status", to: "filed")) == [])
        let oneOfficer = Samples.changing(Samples.enforcementCase, "/officers/1", to: nil)
        #expect(problems(oneOfficer) == ["insufficient-officers /officers"])
        #expect(problems(Samples.changing(oneOfficer, "/status", to: "decided")) == ["insufficient-officers /officers"])
        #expect(problems(Samples.changing(oneOfficer, "/status", to: "executed")) == ["insufficient-officers /officers"])
        #expect(problems(Samples.changing(oneOfficer, "/status", to: "filed")) == [])
        #expect(problems(Samples.changing(Samples.enforcementCase, "/officers", to: [])) == ["insufficient-officers /officers"])
        #expect(problems(Samples.changing(Samples.enforcementCase, "/penalties/0/amountFen", to: nil)) == ["invalid-amount /penalties/0/amountFen"])
        #expect(problems(Samples.changing(Samples.enforcementCase, "/penalties/0/amountFen", to: 0)) == ["invalid-amount /penalties/0/amountFen"])
        #expect(problems(Samples.changing(Samples.enforcementCase, "/penalties/1/amountFen", to: 0)) == [])
        #expect(problems(Samples.changing(Samples.enforcementCase, "/party/idNumber", to: "511723199001011233")) == ["invalid-value /party/idNumber"])
        var person = Samples.changing(Samples.enforcementCase, "/party/type", to: "person")
        #expect(problems(person) == ["invalid-value /party/creditCode"])
        person = Samples.changing(person, "/party/creditCode", to: nil)
        person = Samples.changing(person, "/party/idNumber", to: "511723199001011233")
        #expect(problems(person) == [])
        // Domain rules apply to cases only.
        #expect(CanonicalValidator.domainErrors(Samples.bulletin) == [])
        #expect(CanonicalValidator.domainErrors(Samples.enforcementCase) == [])
    }
}
