/// A small interpreter for the subset of JSON Schema that `canonical.schema.json` uses, with the
/// error code each member reports (formats.md). `CanonicalValidator` declares the schema in these
/// rules and walks records with their compiled form (`SchemaPlan`); `validate` here is the plain
/// reading of the rules that `SchemaPlanTests` holds the compiled walk to.
indirect enum SchemaRule: Sendable {
    /// A string of `minLength...maxLength` code points that passes `check` (a problem text or nil).
    case string(code: RecordError.Code, minLength: Int, maxLength: Int, check: (@Sendable (String) -> String?)?)
    /// One of the listed strings.
    case oneOf([String])
    /// An integer (a number without fraction) in `minimum...maximum`, and in `allowed` when given.
    case integer(code: RecordError.Code, minimum: DecimalText?, maximum: DecimalText?, allowed: [DecimalText]?)
    /// Any number in `minimum...maximum`.
    case number(minimum: DecimalText, maximum: DecimalText)
    /// Exactly this value.
    case constant(JSONValue)
    case object(SchemaObject)
    case array(item: SchemaRule, minItems: Int, uniqueItems: Bool)
}

/// An object with `additionalProperties: false` (or `unevaluatedProperties: false`).
struct SchemaObject: Sendable {
    struct Member: Sendable {
        var name: String
        var rule: SchemaRule
        var isRequired: Bool

        static func required(_ name: String, _ rule: SchemaRule) -> Member { Member(name: name, rule: rule, isRequired: true) }
        static func optional(_ name: String, _ rule: SchemaRule) -> Member { Member(name: name, rule: rule, isRequired: false) }
    }

    var members: [Member]

    init(_ members: [Member]) {
        precondition(members.count <= 64, "SchemaObject tracks members in a 64-bit mask")
        self.members = members
    }
}

extension SchemaRule {
    /// Plain text (names, titles, addresses): only its length is checked.
    static func text(min: Int = 0, max: Int) -> SchemaRule {
        .string(code: .invalidValue, minLength: min, maxLength: max, check: nil)
    }

    /// Text that `check` validates, failing with `code`.
    static func token(_ code: RecordError.Code = .invalidValue, _ check: @escaping @Sendable (String) -> String?) -> SchemaRule {
        .string(code: code, minLength: 0, maxLength: .max, check: check)
    }

    /// Validates `value` at `path`, appending every problem to `errors`. `path` is extended and
    /// restored in place (no pointer is built unless there is an error to report).
    func validate(_ value: JSONValue, path: inout JSONPointer, into errors: inout [RecordError]) {
        func fail(_ code: RecordError.Code, _ message: String) {
            errors.append(RecordError(code, path: path.description, message: message))
        }
        switch self {
        case .string(let code, let minLength, let maxLength, let check):
            guard case .string(let string) = value else { return fail(code, "must be a string") }
            if minLength > 0 || maxLength < .max {
                let length = string.unicodeScalars.count
                if length < minLength {
                    return fail(code, minLength == 1 ? "must not be empty" : "must have at least \(minLength) characters")
                }
                if length > maxLength { return fail(code, "must have at most \(maxLength) characters") }
            }
            if let check, let problem = check(string) { fail(code, problem) }
        case .oneOf(let allowed):
            guard case .string(let string) = value, allowed.contains(string) else {
                return fail(.invalidValue, "must be one of " + allowed.joined(separator: ", "))
            }
        case .integer(let code, let minimum, let maximum, let allowed):
            guard case .number(let number) = value, let decimal = DecimalText(number) else {
                return fail(code, "must be an integer")
            }
            guard decimal.isInteger else { return fail(code, "must be an integer") }
            if let minimum, decimal < minimum { return fail(code, "must be at least \(minimum)") }
            if let maximum, maximum < decimal { return fail(code, "must be at most \(maximum)") }
            if let allowed, !allowed.contains(decimal) {
                fail(code, "must be one of " + allowed.map(\.description).joined(separator: ", "))
            }
        case .number(let minimum, let maximum):
            guard case .number(let number) = value, let decimal = DecimalText(number) else {
                return fail(.invalidValue, "must be a number")
            }
            if decimal < minimum || maximum < decimal { fail(.invalidValue, "must be between \(minimum) and \(maximum)") }
        case .constant(let expected):
            if case .number(let number) = expected, case .number(let actual) = value,
                DecimalText(number) == DecimalText(actual)
            {
                return
            }
            if value != expected { fail(.invalidValue, "must be \(expected.canonicalString)") }
        case .object(let object):
            object.validate(value, path: &path, into: &errors)
        case .array(let item, let minItems, let uniqueItems):
            guard case .array(let elements) = value else { return fail(.invalidValue, "must be an array") }
            if elements.count < minItems {
                fail(.invalidValue, minItems == 1 ? "must not be empty" : "must have at least \(minItems) items")
            }
            for (index, element) in elements.enumerated() {
                path.append(index: index)
                item.validate(element, path: &path, into: &errors)
                if uniqueItems, elements[..<index].contains(where: { JSONValue.sameJSON($0, element) }) {
                    errors.append(RecordError(.invalidValue, path: path.description, message: "duplicate item"))
                }
                path.removeLast()
            }
        }
    }
}

extension SchemaObject {
    func validate(_ value: JSONValue, path: inout JSONPointer, into errors: inout [RecordError]) {
        guard case .object(let object) = value else {
            errors.append(RecordError(.invalidValue, path: path.description, message: "must be an object"))
            return
        }
        // One pass over the record's members; `seen` marks the schema members found.
        var seen: UInt64 = 0
        for found in object.members {
            guard let index = members.firstIndex(where: { $0.name.hasSameUTF8(as: found.key) }) else {
                errors.append(RecordError(.invalidValue, path: path.appending(found.key).description, message: "unknown member"))
                continue
            }
            seen |= 1 << UInt64(index)
            path.append(found.key)
            members[index].rule.validate(found.value, path: &path, into: &errors)
            path.removeLast()
        }
        for (index, member) in members.enumerated() where member.isRequired && seen & (1 << UInt64(index)) == 0 {
            errors.append(RecordError(.missingField, path: path.appending(member.name).description, message: "is required"))
        }
    }
}

extension JSONValue {
    /// JSON Schema equality: numbers by value (`1.0` equals `1`), strings by code points.
    static func sameJSON(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.number(let x), .number(let y)): return x.text == y.text || DecimalText(x) == DecimalText(y)
        case (.string(let x), .string(let y)): return x.hasSameUTF8(as: y)
        case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy { sameJSON($0, $1) }
        case (.object(let x), .object(let y)):
            return x.count == y.count
                && x.members.allSatisfy { m in
                    y.members.contains { $0.key.hasSameUTF8(as: m.key) && sameJSON($0.value, m.value) }
                }
        default: return a == b
        }
    }
}
