/// What the three record kinds have in common. Their descriptions (also the debug ones) name the
/// record only by kind and id, so that printing a record never leaks the personal data inside it.
public protocol CanonicalRecordBody: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    static var kind: RecordKind { get }
    var head: RecordHead { get set }
    init(json: JSONValue) throws(InvalidRecordError)
    var json: JSONValue { get }
}

extension CanonicalRecordBody {
    public var recordId: String { head.recordId }
    public var source: RecordSource { head.source }
    public var updatedAt: LocalDateTime { head.updatedAt }
    public var description: String { "\(Self.kind.rawValue) \(recordId)" }
    public var debugDescription: String { description }
}

extension TrafficViolation: CanonicalRecordBody {
    public static var kind: RecordKind { .trafficViolation }
}

extension EnforcementCase: CanonicalRecordBody {
    public static var kind: RecordKind { .enforcementCase }
}

extension Bulletin: CanonicalRecordBody {
    public static var kind: RecordKind { .bulletin }
}

/// A canonical record of any kind.
public enum CanonicalRecord: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    case trafficViolation(TrafficViolation)
    case enforcementCase(EnforcementCase)
    case bulletin(Bulletin)

    /// Reads and validates a canonical record of any kind (selected by `kind`).
    public init(json: JSONValue) throws(InvalidRecordError) {
        switch json["kind"]?.stringValue.flatMap(RecordKind.init(rawValue:)) {
        case .trafficViolation: self = .trafficViolation(try TrafficViolation(json: json))
        case .enforcementCase: self = .enforcementCase(try EnforcementCase(json: json))
        case .bulletin: self = .bulletin(try Bulletin(json: json))
        case nil: throw InvalidRecordError(errors: CanonicalValidator.validate(json))
        }
    }

    public var body: any CanonicalRecordBody {
        switch self {
        case .trafficViolation(let record): record
        case .enforcementCase(let record): record
        case .bulletin(let record): record
        }
    }

    public var kind: RecordKind { type(of: body).kind }
    public var head: RecordHead { body.head }
    public var recordId: String { head.recordId }
    public var updatedAt: LocalDateTime { head.updatedAt }
    public var source: RecordSource { head.source }
    public var json: JSONValue { body.json }
    public var description: String { body.description }
    public var debugDescription: String { body.description }
}
