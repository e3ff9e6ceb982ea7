/// Validates canonical records against `canonical.schema.json` (all three kinds, selected by
/// `kind`) and the case domain rules, reporting every problem with the JSON Pointer of its member
/// and the error code of formats.md. Messages quote a value as `PersonalData` allows for its
/// member: codes, dates and amounts as sent, personal data masked.
public enum CanonicalValidator {
    /// Every problem with `record`; empty when it is valid.
    public static func validate(_ record: JSONValue) -> [RecordError] {
        var errors: [RecordError] = []
        guard case .object(let object) = record else {
            return [RecordError(.invalidValue, path: "", message: "a canonical record is a JSON object")]
        }
        guard let kindValue = object["kind"] else {
            return [RecordError(.missingField, path: "/kind", message: "is required")]
        }
        guard let kindText = kindValue.stringValue, let kind = RecordKind(rawValue: kindText) else {
            return [RecordError(.invalidValue, path: "/kind", message: "must be one of " + RecordKind.allCases.map(\.rawValue).joined(separator: ", "))]
        }
        var path = JSONPointer.root
        plan(for: kind).validate(record, path: &path, into: &errors)
        if kind == .enforcementCase { errors += domainErrors(record) }
        return errors
    }

    /// `schema(for:)` compiled (`SchemaPlan`), once per kind.
    static func plan(for kind: RecordKind) -> ObjectPlan {
        switch kind {
        case .trafficViolation: trafficViolationPlan
        case .enforcementCase: enforcementCasePlan
        case .bulletin: bulletinPlan
        }
    }

    static let trafficViolationPlan = ObjectPlan(trafficViolation)
    static let enforcementCasePlan = ObjectPlan(enforcementCase)
    static let bulletinPlan = ObjectPlan(bulletin)

    /// The domain rules of formats.md beyond the schema: a decided, executed or closed case needs
    /// `decidedOn` and at least two officers; a fine needs an amount above zero; a person party
    /// carries no credit code and an organisation no ID number.
    public static func domainErrors(_ record: JSONValue) -> [RecordError] {
        guard record.canonicalRecord.kind == .enforcementCase else { return [] }
        var errors: [RecordError] = []
        if let status = record["status"]?.stringValue, ["decided", "executed", "closed"].contains(status) {
            if record["decidedOn"] == nil {
                errors.append(RecordError(.missingField, path: "/decidedOn", message: "a \(status) case needs its decision date"))
            }
            let officers = record["officers"]?.arrayValue?.count ?? 0
            if officers < 2 {
                errors.append(
                    RecordError(.insufficientOfficers, path: "/officers",
                                message: "a \(status) case needs at least two officers, found \(officers)"))
            }
        }
        for (index, penalty) in (record["penalties"]?.arrayValue ?? []).enumerated() {
            guard penalty["type"]?.stringValue == "fine" else { continue }
            let path = "/penalties/\(index)/amountFen"
            if let amount = penalty["amountFen"] {
                if let number = amount.numberValue, let decimal = DecimalText(number), decimal.isZero {
                    errors.append(RecordError(.invalidAmount, path: path, message: "a fine must be more than zero"))
                }
            } else {
                errors.append(RecordError(.invalidAmount, path: path, message: "a fine needs its amount"))
            }
        }
        if let party = record["party"]?.objectValue {
            switch party["type"]?.stringValue {
            case "person" where party["creditCode"] != nil:
                errors.append(RecordError(.invalidValue, path: "/party/creditCode", message: "a person has no credit code"))
            case "organization" where party["idNumber"] != nil:
                errors.append(RecordError(.invalidValue, path: "/party/idNumber", message: "an organization has no ID number"))
            default: break
            }
        }
        return errors
    }

    static func schema(for kind: RecordKind) -> SchemaObject {
        switch kind {
        case .trafficViolation: trafficViolation
        case .enforcementCase: enforcementCase
        case .bulletin: bulletin
        }
    }

    // MARK: - $defs

    static let instant = SchemaRule.token(.invalidDatetime) { text in
        LocalDateTime(instant: text) == nil ? "must be a real time written YYYY-MM-DDTHH:MM:SS+08:00" : nil
    }

    static let date = SchemaRule.token(.invalidDatetime) { text in
        text.utf8.count == 10 && LocalDate(iso: text) != nil ? nil : "must be a real date written YYYY-MM-DD"
    }

    static let fen = SchemaRule.integer(
        code: .invalidAmount, minimum: DecimalText("0"), maximum: DecimalText("100000000000"), allowed: nil)

    static let divisionCode = SchemaRule.token { text in
        DivisionCode.isValid(text) ? nil : DivisionCode.problemDescription
    }

    /// The ID number at `member` (quoted as `PersonalData` says for it: masked).
    static func idNumber(_ member: String) -> SchemaRule {
        .token(.invalidIDNumber) { text in
            IDNumber.problem(in: text).map { "ID number \(PersonalData.quote(text, at: member)): \($0)" }
        }
    }

    /// The credit code at `member`.
    static func creditCode(_ member: String) -> SchemaRule {
        .token(.invalidCreditCode) { text in
            CreditCode.problem(in: text).map { "credit code \(PersonalData.quote(text, at: member)): \($0)" }
        }
    }

    static let region = SchemaRule.oneOf(Region.allCases.map(\.rawValue))

    static let source = SchemaRule.object(SchemaObject([
        .required("region", region),
        .required("system", pattern(TextPattern.slug(rest: 1...31), "a lower-case system name")),
        .required("format", pattern(TextPattern.mappingFormat, "a mapping id and version such as sc-traffic-xml/1")),
    ]))

    static let agency = SchemaRule.object(SchemaObject([
        .optional("code", pattern(TextPattern.upperAlphanumeric(6...18), "6 to 18 digits or upper-case letters")),
        .required("name", .text(min: 1, max: 100)),
    ]))

    static func pattern(_ matches: @escaping @Sendable (String) -> Bool, _ expectation: String) -> SchemaRule {
        .token { matches($0) ? nil : "must be " + expectation }
    }

    /// The members of `recordHead` every kind carries (`kind` is added per kind).
    static func head(kind: RecordKind) -> [SchemaObject.Member] {
        [
            .required("kind", .constant(.string(kind.rawValue))),
            .required("schemaVersion", .constant(1)),
            .required("recordId", pattern(TextPattern.recordId, "'<system>:<id>' (id of letters, digits, '.', '_', '-')")),
            .required("source", source),
            .required("updatedAt", instant),
        ]
    }

    // MARK: - Kinds

    static let trafficViolation = SchemaObject(head(kind: .trafficViolation) + [
        .required("vehicle", .object(SchemaObject([
            .required("plate", .token(.invalidPlate) {
                Plate.isValid($0) ? nil : "plate \(PersonalData.quote($0, at: "/vehicle/plate")): " + Plate.problemDescription
            }),
            .required("plateType", pattern(TextPattern.digits(2...2), "a two-digit GA 24.7 plate type")),
        ]))),
        .optional("driver", .object(SchemaObject([
            .required("name", .text(min: 1, max: 50)),
            .required("idNumber", idNumber("/driver/idNumber")),
        ]))),
        .required("occurredAt", instant),
        .required("location", .object(SchemaObject([
            .required("divisionCode", divisionCode),
            .required("address", .text(min: 1, max: 200)),
            .optional("longitude", .number(minimum: DecimalText("73")!, maximum: DecimalText("136")!)),
            .optional("latitude", .number(minimum: DecimalText("3")!, maximum: DecimalText("54")!)),
        ]))),
        .required("violation", .object(SchemaObject([
            .required("code", pattern(TextPattern.digits(4...5), "a 4- or 5-digit GA 408.1 violation code")),
            .optional("description", .text(max: 200)),
        ]))),
        .required("penalty", .object(SchemaObject([
            .required("fineFen", fen),
            .required("points", .integer(code: .invalidValue, minimum: nil, maximum: nil,
                                         allowed: [0, 1, 3, 6, 9, 12].map { DecimalText(String($0))! })),
        ]))),
        .required("capture", .oneOf(["site", "camera"])),
        .required("status", .oneOf(["pending", "processed", "paid"])),
        .required("agency", agency),
    ])

    static let enforcementCase = SchemaObject(head(kind: .enforcementCase) + [
        .required("caseNumber", .text(min: 4, max: 60)),
        .required("domain", .oneOf([
            "natural-resources", "housing-construction", "transport", "agriculture", "water", "ecology-environment",
            "market-regulation", "culture-tourism", "health", "emergency-management", "forestry", "public-security", "other",
        ])),
        .required("party", .object(SchemaObject([
            .required("type", .oneOf(["person", "organization"])),
            .required("name", .text(min: 1, max: 100)),
            .optional("idNumber", idNumber("/party/idNumber")),
            .optional("creditCode", creditCode("/party/creditCode")),
        ]))),
        .required("facts", .text(min: 1, max: 10000)),
        .required("legalBasis", .array(item: .object(SchemaObject([
            .required("law", .text(min: 1, max: 100)),
            .optional("article", .text(max: 50)),
        ])), minItems: 1, uniqueItems: false)),
        .required("penalties", .array(item: .object(SchemaObject([
            .required("type", .oneOf(["warning", "fine", "confiscation", "suspension", "revocation", "detention", "other"])),
            .optional("amountFen", fen),
            .optional("note", .text(max: 200)),
        ])), minItems: 1, uniqueItems: false)),
        .optional("decidedOn", date),
        .required("agency", agency),
        .required("officers", .array(item: .object(SchemaObject([
            .required("name", .text(min: 1, max: 50)),
            .required("certificateNumber", pattern(TextPattern.upperAlphanumeric(6...20), "6 to 20 digits or upper-case letters")),
        ])), minItems: 0, uniqueItems: false)),
        .required("jurisdiction", divisionCode),
        .required("status", .oneOf(["filed", "decided", "executed", "closed"])),
    ])

    static let memberId = pattern(TextPattern.slug(rest: 1...47), "an alliance member id (lower-case letters, digits, '-')")

    static let bulletin = SchemaObject(head(kind: .bulletin) + [
        .required("title", .text(min: 1, max: 200)),
        .required("body", .text(min: 1, max: 50000)),
        .required("issuedBy", .object(SchemaObject([
            .required("org", memberId),
            .required("name", .text(min: 1, max: 100)),
        ]))),
        .required("issuedAt", instant),
        .required("audience", .array(item: memberId, minItems: 1, uniqueItems: true)),
        .required("priority", .oneOf(["normal", "urgent"])),
        .optional("attachments", .array(item: .object(SchemaObject([
            .required("name", .text(min: 1, max: 200)),
            .required("mediaType", pattern(TextPattern.mediaType, "a media type such as application/pdf")),
            .required("sha256", pattern(TextPattern.lowerHex(64), "64 lower-case hexadecimal digits")),
            .required("size", .integer(code: .invalidValue, minimum: DecimalText("0"), maximum: nil, allowed: nil)),
        ])), minItems: 0, uniqueItems: false)),
    ])
}
