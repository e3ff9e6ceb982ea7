/// An administrative penalty case (行政处罚案件), `kind` `enforcement-case`.
public struct EnforcementCase: Sendable, Hashable {
    /// Field of administrative enforcement.
    public enum Domain: String, Sendable, Hashable, CaseIterable {
        case naturalResources = "natural-resources"
        case housingConstruction = "housing-construction"
        case transport, agriculture, water
        case ecologyEnvironment = "ecology-environment"
        case marketRegulation = "market-regulation"
        case cultureTourism = "culture-tourism"
        case health
        case emergencyManagement = "emergency-management"
        case forestry
        case publicSecurity = "public-security"
        case other
    }

    public enum PartyType: String, Sendable, Hashable, CaseIterable {
        case person, organization
    }

    /// The party penalised. Personal data for persons: mask before logging.
    public struct Party: Sendable, Hashable, JSONModel, CustomStringConvertible {
        public var type: PartyType
        public var name: String
        /// For persons.
        public var idNumber: String?
        /// For organizations.
        public var creditCode: String?

        public init(type: PartyType, name: String, idNumber: String? = nil, creditCode: String? = nil) {
            self.type = type
            self.name = name
            self.idNumber = idNumber
            self.creditCode = creditCode
        }

        init(fields: ModelFields) throws(InvalidRecordError) {
            type = try fields.enumeration("type")
            name = try fields.string("name")
            idNumber = try fields.optionalString("idNumber")
            creditCode = try fields.optionalString("creditCode")
        }

        public var json: JSONValue {
            var o = ModelObject()
            o.add("type", type)
            o.add("name", name)
            o.add("idNumber", idNumber)
            o.add("creditCode", creditCode)
            return o.json
        }

        /// Masked, so that interpolating a party into a log line leaks nothing.
        public var description: String {
            "Party(\(type.rawValue), \(Masking.name(name))\(idNumber.map { ", " + Masking.idNumber($0) } ?? ""))"
        }
    }

    public struct LegalBasis: Sendable, Hashable, JSONModel {
        /// The law's title without 《》.
        public var law: String
        /// The article as written, e.g. 第九十条.
        public var article: String?

        public init(law: String, article: String? = nil) {
            self.law = law
            self.article = article
        }

        init(fields: ModelFields) throws(InvalidRecordError) {
            law = try fields.string("law")
            article = try fields.optionalString("article")
        }

        public var json: JSONValue {
            var o = ModelObject()
            o.add("law", law)
            o.add("article", article)
            return o.json
        }
    }

    public enum PenaltyType: String, Sendable, Hashable, CaseIterable {
        case warning, fine, confiscation, suspension, revocation, detention, other
    }

    public struct Penalty: Sendable, Hashable, JSONModel {
        public var type: PenaltyType
        public var amountFen: Int?
        public var note: String?

        public init(type: PenaltyType, amountFen: Int? = nil, note: String? = nil) {
            self.type = type
            self.amountFen = amountFen
            self.note = note
        }

        init(fields: ModelFields) throws(InvalidRecordError) {
            type = try fields.enumeration("type")
            amountFen = try fields.optionalInt("amountFen")
            note = try fields.optionalString("note")
        }

        public var json: JSONValue {
            var o = ModelObject()
            o.add("type", type)
            o.add("amountFen", amountFen)
            o.add("note", note)
            return o.json
        }
    }

    /// An officer; the name is personal data, masked in the description.
    public struct Officer: Sendable, Hashable, JSONModel, CustomStringConvertible {
        public var name: String
        public var certificateNumber: String

        public init(name: String, certificateNumber: String) {
            self.name = name
            self.certificateNumber = certificateNumber
        }

        init(fields: ModelFields) throws(InvalidRecordError) {
            name = try fields.string("name")
            certificateNumber = try fields.string("certificateNumber")
        }

        public var json: JSONValue {
            var o = ModelObject()
            o.add("name", name)
            o.add("certificateNumber", certificateNumber)
            return o.json
        }

        public var description: String { "Officer(\(Masking.name(name)), \(certificateNumber))" }
    }

    public enum Status: String, Sendable, Hashable, CaseIterable {
        case filed, decided, executed, closed
    }

    public var head: RecordHead
    /// Decision document number, brackets normalized: 开市监罚〔2023〕12号.
    public var caseNumber: String
    public var domain: Domain
    public var party: Party
    public var facts: String
    public var legalBasis: [LegalBasis]
    public var penalties: [Penalty]
    public var decidedOn: LocalDate?
    public var agency: Agency
    public var officers: [Officer]
    /// Division code of the jurisdiction.
    public var jurisdiction: String
    public var status: Status

    public init(
        head: RecordHead, caseNumber: String, domain: Domain, party: Party, facts: String, legalBasis: [LegalBasis],
        penalties: [Penalty], decidedOn: LocalDate? = nil, agency: Agency, officers: [Officer], jurisdiction: String,
        status: Status
    ) {
        self.head = head
        self.caseNumber = caseNumber
        self.domain = domain
        self.party = party
        self.facts = facts
        self.legalBasis = legalBasis
        self.penalties = penalties
        self.decidedOn = decidedOn
        self.agency = agency
        self.officers = officers
        self.jurisdiction = jurisdiction
        self.status = status
    }

    /// Reads a canonical record, validating it first (schema and domain rules).
    public init(json: JSONValue) throws(InvalidRecordError) {
        let fields = try RecordHead.fields(of: json, kind: .enforcementCase)
        head = try RecordHead(fields: fields)
        caseNumber = try fields.string("caseNumber")
        domain = try fields.enumeration("domain")
        party = try fields.model("party")
        facts = try fields.string("facts")
        legalBasis = try fields.models("legalBasis")
        penalties = try fields.models("penalties")
        decidedOn = try fields.optionalDate("decidedOn")
        agency = try fields.model("agency")
        officers = try fields.models("officers")
        jurisdiction = try fields.string("jurisdiction")
        status = try fields.enumeration("status")
    }

    /// The canonical JSON of this record (optional members omitted; `officers` always written, as required).
    public var json: JSONValue {
        var o = head.begin(kind: .enforcementCase)
        o.add("caseNumber", caseNumber)
        o.add("domain", domain)
        o.add("party", party)
        o.add("facts", facts)
        o.add("legalBasis", legalBasis)
        o.add("penalties", penalties)
        o.add("decidedOn", decidedOn)
        o.add("agency", agency)
        o.add("officers", officers)
        o.add("jurisdiction", jurisdiction)
        o.add("status", status)
        return o.json
    }
}
