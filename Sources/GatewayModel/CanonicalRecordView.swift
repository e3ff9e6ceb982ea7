/// Typed reads of the few members of a canonical record that code outside the schema needs: the
/// head (`kind`, `recordId`, `source`, `updatedAt`) and a bulletin's issuer.
///
/// There is one canonical model: the `JSONValue` that the mappings build, `CanonicalValidator`
/// checks against `canonical.schema.json` and the signer seals. This view only reads it, member by
/// member, so it also serves records not validated yet: a member that is absent or of another
/// type reads as nil. Its description names the record only by kind and id, so that printing a
/// record never leaks the personal data inside it.
public struct CanonicalRecordView: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The record itself.
    public let json: JSONValue

    public init(_ json: JSONValue) { self.json = json }

    /// `kind` as written, also a kind this schema does not know (for messages and route rules).
    public var kindName: String? { json["kind"]?.stringValue }

    /// `kind`, when it is one of the schema's.
    public var kind: RecordKind? { kindName.flatMap(RecordKind.init(rawValue:)) }

    /// `<system>:<id in the sending system>`.
    public var recordId: String? { json["recordId"]?.stringValue }

    /// `updatedAt`, when it is a canonical instant (`YYYY-MM-DDTHH:MM:SS+08:00`, a real time); its
    /// `instantString` is then the member's text exactly.
    public var updatedAt: LocalDateTime? { json["updatedAt"]?.stringValue.flatMap { LocalDateTime(instant: $0) } }

    /// `source.region` as written (`sichuan`, `chongqing`).
    public var region: String? { json["source"]?["region"]?.stringValue }

    /// `source.system`: the sending system's short name (`sc-traffic`).
    public var system: String? { json["source"]?["system"]?.stringValue }

    /// `source.format`: the mapping id and version that produced the record (`sc-traffic-xml/1`).
    public var format: String? { json["source"]?["format"]?.stringValue }

    /// The mapping id of `format`, without its version (`sc-traffic-xml`).
    public var mappingID: String? { format.map { String($0.split(separator: "/").first ?? "") } }

    /// A bulletin's issuer (`issuedBy.org`): the alliance member that sends it.
    public var issuer: String? { json["issuedBy"]?["org"]?.stringValue }

    public var description: String { "\(kindName ?? "record") \(recordId ?? "without recordId")" }
    public var debugDescription: String { description }
}

extension JSONValue {
    /// This value read as a canonical record (see `CanonicalRecordView`).
    public var canonicalRecord: CanonicalRecordView { CanonicalRecordView(self) }
}
