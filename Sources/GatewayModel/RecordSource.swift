/// Where a canonical record came from (`source`): the region, the sending system's short name
/// and the mapping id/version that produced it (`sc-traffic-xml/1`).
public struct RecordSource: Sendable, Hashable, JSONModel {
    public var region: Region
    public var system: String
    public var format: String

    public init(region: Region, system: String, format: String) {
        self.region = region
        self.system = system
        self.format = format
    }

    init(fields: ModelFields) throws(InvalidRecordError) {
        region = try fields.enumeration("region")
        system = try fields.string("system")
        format = try fields.string("format")
    }

    public var json: JSONValue {
        var o = ModelObject()
        o.add("region", region)
        o.add("system", system)
        o.add("format", format)
        return o.json
    }
}

/// The agency responsible for a record (`agency`).
public struct Agency: Sendable, Hashable, JSONModel {
    public var code: String?
    public var name: String

    public init(code: String? = nil, name: String) {
        self.code = code
        self.name = name
    }

    init(fields: ModelFields) throws(InvalidRecordError) {
        code = try fields.optionalString("code")
        name = try fields.string("name")
    }

    public var json: JSONValue {
        var o = ModelObject()
        o.add("code", code)
        o.add("name", name)
        return o.json
    }
}

/// The members every kind shares (`recordHead` of the schema, `kind` and `schemaVersion` aside).
public struct RecordHead: Sendable, Hashable {
    /// `<system>:<id in the sending system>`.
    public var recordId: String
    public var source: RecordSource
    public var updatedAt: LocalDateTime

    public init(recordId: String, source: RecordSource, updatedAt: LocalDateTime) {
        self.recordId = recordId
        self.source = source
        self.updatedAt = updatedAt
    }

    /// The canonical schema version this model writes.
    public static let schemaVersion = 1

    init(fields: ModelFields) throws(InvalidRecordError) {
        recordId = try fields.string("recordId")
        source = try fields.model("source")
        updatedAt = try fields.instant("updatedAt")
    }

    /// Starts a record object: `kind`, `schemaVersion`, `recordId`, `source`, `updatedAt`.
    func begin(kind: RecordKind) -> ModelObject {
        var o = ModelObject()
        o.add("kind", kind)
        o.add("schemaVersion", RecordHead.schemaVersion)
        o.add("recordId", recordId)
        o.add("source", source)
        o.add("updatedAt", updatedAt)
        return o
    }

    /// Validates `json` as a record of `kind` and returns its fields, or throws every problem.
    static func fields(of json: JSONValue, kind: RecordKind) throws(InvalidRecordError) -> ModelFields {
        var errors = CanonicalValidator.validate(json)
        if errors.isEmpty, json["kind"]?.stringValue != kind.rawValue {
            errors.append(RecordError(.invalidValue, path: "/kind", message: "must be \(kind.rawValue)"))
        }
        guard errors.isEmpty else { throw InvalidRecordError(errors: errors) }
        return try ModelFields(json, path: .root)
    }
}
