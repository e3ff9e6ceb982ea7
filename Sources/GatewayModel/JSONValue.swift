/// A JSON value as the gateway reads and writes it.
///
/// Numbers keep their decimal text (`JSONNumber`) so that money is never read through binary
/// floating point; objects keep their members in document order (JCS sorts them on output).
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)
}

/// A JSON number, stored as its decimal text exactly as it stood in the input (or as produced).
public struct JSONNumber: Sendable, Hashable, CustomStringConvertible {
    /// The decimal text, RFC 8259 number syntax.
    public let text: String

    /// Wraps text that is already known to be RFC 8259 number syntax (the parser's output).
    public init(uncheckedText text: String) { self.text = text }

    public init(_ value: Int) { self.text = String(value) }

    public init(_ value: Double) {
        precondition(value.isFinite, "JSON has no NaN or Infinity")
        self.text = value.description
    }

    /// The value as an `Int` when the text is an integer in range (`12`, not `12.0`).
    public var intValue: Int? { Int(text) }

    /// The value as a `Double` (for coordinates and JCS output, never for money).
    public var doubleValue: Double { Double(text) ?? .nan }

    public var description: String { text }
}

/// A JSON object with its members in order. Member names are unique (the parser rejects
/// duplicates; `subscript(set:)` replaces).
public struct JSONObject: Sendable, Hashable {
    public struct Member: Sendable, Hashable {
        public var key: String
        public var value: JSONValue
        public init(key: String, value: JSONValue) {
            self.key = key
            self.value = value
        }
    }

    public var members: [Member]

    public init(_ members: [Member] = []) { self.members = members }

    public init(_ pairs: KeyValuePairs<String, JSONValue>) {
        self.members = pairs.map { Member(key: $0.key, value: $0.value) }
    }

    public subscript(key: String) -> JSONValue? {
        get { members.first(where: { Self.sameKey($0.key, key) })?.value }
        set {
            if let index = members.firstIndex(where: { Self.sameKey($0.key, key) }) {
                if let newValue { members[index].value = newValue } else { members.remove(at: index) }
            } else if let newValue {
                members.append(Member(key: key, value: newValue))
            }
        }
    }

    /// Key equality for the linear look-ups: keys of another UTF-8 length differ, and telling so
    /// costs no call to the standard library's out-of-line string comparison (records have a
    /// dozen or more members, and each is looked up while the record is built).
    @inline(__always)
    public static func sameKey(_ a: String, _ b: String) -> Bool { a.utf8.count == b.utf8.count && a == b }

    public var keys: [String] { members.map(\.key) }
    public var isEmpty: Bool { members.isEmpty }
    public var count: Int { members.count }
}

extension JSONValue {
    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    public var numberValue: JSONNumber? { if case .number(let n) = self { n } else { nil } }
    public var boolValue: Bool? { if case .bool(let b) = self { b } else { nil } }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
    public var objectValue: JSONObject? { if case .object(let o) = self { o } else { nil } }
    public var isNull: Bool { if case .null = self { true } else { false } }

    /// Member lookup on objects; `nil` for anything else.
    public subscript(key: String) -> JSONValue? { objectValue?[key] }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral, ExpressibleByFloatLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(JSONNumber(value)) }
    public init(floatLiteral value: Double) { self = .number(JSONNumber(value)) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(JSONObject(elements.map { JSONObject.Member(key: $0.0, value: $0.1) }))
    }
    public init(nilLiteral: ()) { self = .null }
}
