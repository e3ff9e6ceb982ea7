/// A `SchemaRule` compiled once into what walking a record needs, so that validating a record
/// costs little more than reading it: members found through a small hash table instead of a
/// linear search, numbers compared without allocating a `DecimalText` when their text is a plain
/// decimal, string lengths told from the UTF-8 count when that settles them, and final classes
/// instead of an indirect enum (no box retained per member visited).
///
/// Every answer is the one `SchemaRule.validate` gives: same errors, same order, same messages
/// (`SchemaPlanTests` walks both over many records). A fast path only decides what it can prove;
/// anything else goes the way the rule goes.
final class SchemaPlan: Sendable {
    enum Kind: Sendable { case string, oneOf, integer, number, constant, object, array }

    let kind: Kind
    let code: RecordError.Code
    // string
    let minLength: Int
    let maxLength: Int
    let check: (@Sendable (String) -> String?)?
    // oneOf
    let allowedStrings: [String]
    let oneOfMessage: String
    // integer, number
    let minimum: DecimalText?
    let maximum: DecimalText?
    let allowedDecimals: [DecimalText]?
    let allowedMessage: String
    /// Whether every bound and allowed value is an integer of `SmallDecimal`'s range (below).
    let integerBounds: Bool
    let minimumInt: Int
    let maximumInt: Int
    let allowedInts: [Int]?
    // constant
    let constant: JSONValue
    let constantNumberText: String?
    // object
    let object: ObjectPlan?
    // array
    let item: SchemaPlan?
    let minItems: Int
    let uniqueItems: Bool

    init(_ rule: SchemaRule) {
        var code: RecordError.Code = .invalidValue
        var minLength = 0, maxLength = Int.max
        var check: (@Sendable (String) -> String?)?
        var allowedStrings: [String] = []
        var minimum: DecimalText?, maximum: DecimalText?, allowedDecimals: [DecimalText]?
        var constant = JSONValue.null
        var object: ObjectPlan?
        var item: SchemaPlan?
        var minItems = 0, uniqueItems = false
        switch rule {
        case .string(let c, let lo, let hi, let f):
            kind = .string
            (code, minLength, maxLength, check) = (c, lo, hi, f)
        case .oneOf(let list):
            kind = .oneOf
            allowedStrings = list
        case .integer(let c, let lo, let hi, let allowed):
            kind = .integer
            (code, minimum, maximum, allowedDecimals) = (c, lo, hi, allowed)
        case .number(let lo, let hi):
            kind = .number
            (minimum, maximum) = (lo, hi)
        case .constant(let value):
            kind = .constant
            constant = value
        case .object(let o):
            kind = .object
            object = ObjectPlan(o)
        case .array(let i, let n, let unique):
            kind = .array
            (item, minItems, uniqueItems) = (SchemaPlan(i), n, unique)
        }
        self.code = code
        self.minLength = minLength
        self.maxLength = maxLength
        self.check = check
        self.allowedStrings = allowedStrings
        self.oneOfMessage = "must be one of " + allowedStrings.joined(separator: ", ")
        self.minimum = minimum
        self.maximum = maximum
        self.allowedDecimals = allowedDecimals
        self.allowedMessage = "must be one of " + (allowedDecimals ?? []).map(\.description).joined(separator: ", ")
        let minimumInt = minimum.map(SmallDecimal.integer(of:)) ?? Int.min
        let maximumInt = maximum.map(SmallDecimal.integer(of:)) ?? Int.max
        let allowedInts = allowedDecimals?.map(SmallDecimal.integer(of:))
        self.minimumInt = minimumInt ?? 0
        self.maximumInt = maximumInt ?? 0
        self.allowedInts = allowedInts?.compactMap { $0 }
        self.integerBounds = minimumInt != nil && maximumInt != nil && allowedInts?.allSatisfy { $0 != nil } ?? true
        self.constant = constant
        if case .number(let n) = constant { constantNumberText = n.text } else { constantNumberText = nil }
        self.object = object
        self.item = item
        self.minItems = minItems
        self.uniqueItems = uniqueItems
    }

    /// Validates `value` at `path`, appending every problem to `errors` (as `SchemaRule.validate`).
    func validate(_ value: JSONValue, path: inout JSONPointer, into errors: inout [RecordError]) {
        switch kind {
        case .string:
            guard case .string(let string) = value else { return fail(code, "must be a string", path, &errors) }
            if minLength > 0 || maxLength < .max {
                // A string of n UTF-8 bytes has between n/4 (rounded up) and n code points.
                let bytes = string.utf8.count
                if bytes > maxLength || (bytes + 3) / 4 < minLength {
                    let length = string.unicodeScalars.count
                    if length < minLength {
                        return fail(code, minLength == 1 ? "must not be empty" : "must have at least \(minLength) characters", path, &errors)
                    }
                    if length > maxLength { return fail(code, "must have at most \(maxLength) characters", path, &errors) }
                }
            }
            if let check, let problem = check(string) { fail(code, problem, path, &errors) }
        case .oneOf:
            guard case .string(let string) = value else { return fail(.invalidValue, oneOfMessage, path, &errors) }
            // Equal bytes are equal strings; other texts go through `==` (canonical equivalence).
            for allowed in allowedStrings where allowed.hasSameUTF8(as: string) { return }
            if !allowedStrings.contains(string) { fail(.invalidValue, oneOfMessage, path, &errors) }
        case .integer:
            guard case .number(let number) = value else { return fail(code, "must be an integer", path, &errors) }
            if integerBounds, let small = SmallDecimal(number.text) {
                guard !small.hasFraction else { return fail(code, "must be an integer", path, &errors) }
                let v = small.negative ? -small.integer : small.integer
                if v < minimumInt { return fail(code, "must be at least \(minimum!)", path, &errors) }
                if maximumInt < v { return fail(code, "must be at most \(maximum!)", path, &errors) }
                if let allowedInts, !allowedInts.contains(v) { fail(code, allowedMessage, path, &errors) }
                return
            }
            guard let decimal = DecimalText(number) else { return fail(code, "must be an integer", path, &errors) }
            guard decimal.isInteger else { return fail(code, "must be an integer", path, &errors) }
            if let minimum, decimal < minimum { return fail(code, "must be at least \(minimum)", path, &errors) }
            if let maximum, maximum < decimal { return fail(code, "must be at most \(maximum)", path, &errors) }
            if let allowedDecimals, !allowedDecimals.contains(decimal) { fail(code, allowedMessage, path, &errors) }
        case .number:
            guard case .number(let number) = value else { return fail(.invalidValue, "must be a number", path, &errors) }
            if integerBounds, let small = SmallDecimal(number.text) {
                if small.isBelow(minimumInt) || small.isAbove(maximumInt) {
                    fail(.invalidValue, "must be between \(minimum!) and \(maximum!)", path, &errors)
                }
                return
            }
            guard let decimal = DecimalText(number) else { return fail(.invalidValue, "must be a number", path, &errors) }
            if decimal < minimum! || maximum! < decimal {
                fail(.invalidValue, "must be between \(minimum!) and \(maximum!)", path, &errors)
            }
        case .constant:
            if let constantNumberText, case .number(let actual) = value {
                // The same text is the same number (also when neither reads as a decimal).
                if actual.text.hasSameUTF8(as: constantNumberText) { return }
                if case .number(let number) = constant, DecimalText(number) == DecimalText(actual) { return }
            }
            if value != constant { fail(.invalidValue, "must be \(constant.canonicalString)", path, &errors) }
        case .object:
            object!.validate(value, path: &path, into: &errors)
        case .array:
            guard case .array(let elements) = value else { return fail(.invalidValue, "must be an array", path, &errors) }
            if elements.count < minItems {
                fail(.invalidValue, minItems == 1 ? "must not be empty" : "must have at least \(minItems) items", path, &errors)
            }
            let item = item!
            for index in elements.indices {
                path.append(index: index)
                item.validate(elements[index], path: &path, into: &errors)
                if uniqueItems, elements[..<index].contains(where: { JSONValue.sameJSON($0, elements[index]) }) {
                    errors.append(RecordError(.invalidValue, path: path.description, message: "duplicate item"))
                }
                path.removeLast()
            }
        }
    }

    @inline(never)
    private func fail(_ code: RecordError.Code, _ message: String, _ path: JSONPointer, _ errors: inout [RecordError]) {
        errors.append(RecordError(code, path: path.description, message: message))
    }
}

/// A `SchemaObject` compiled: member names with a 64-slot table from a name's length and first
/// and last bytes to the member that probably bears it (confirmed by comparing the bytes; a miss
/// falls back to the linear search, so the table only makes finding faster, never different).
final class ObjectPlan: Sendable {
    let names: [String]
    let rules: [SchemaPlan]
    let required: [Bool]
    let table: [Int8]

    init(_ object: SchemaObject) {
        names = object.members.map(\.name)
        rules = object.members.map { SchemaPlan($0.rule) }
        required = object.members.map(\.isRequired)
        var table = [Int8](repeating: -1, count: 64)
        for (index, name) in names.enumerated() where table[Self.slot(name)] < 0 {
            table[Self.slot(name)] = Int8(index)
        }
        self.table = table
    }

    @inline(__always)
    static func slot(_ name: String) -> Int {
        // Read in place: `utf8.last` goes through the generic collection code (4.8% of validation).
        let ends = name.utf8.withContiguousStorageIfAvailable { bytes in
            bytes.isEmpty ? 0 : Int(bytes[0]) &* 7 &+ Int(bytes[bytes.count - 1])
        } ?? 0
        return (name.utf8.count &* 29 &+ ends) & 63
    }

    @inline(__always)
    func index(of key: String) -> Int? {
        let hinted = Int(table[Self.slot(key)])
        if hinted >= 0, names[hinted].hasSameUTF8(as: key) { return hinted }
        return names.firstIndex(where: { $0.hasSameUTF8(as: key) })
    }

    func validate(_ value: JSONValue, path: inout JSONPointer, into errors: inout [RecordError]) {
        guard case .object(let object) = value else {
            errors.append(RecordError(.invalidValue, path: path.description, message: "must be an object"))
            return
        }
        // One pass over the record's members; `seen` marks the schema members found.
        var seen: UInt64 = 0
        let members = object.members
        for position in members.indices {
            let key = members[position].key
            guard let index = index(of: key) else {
                errors.append(RecordError(.invalidValue, path: path.appending(key).description, message: "unknown member"))
                continue
            }
            seen |= 1 << UInt64(index)
            path.append(key)
            rules[index].validate(members[position].value, path: &path, into: &errors)
            path.removeLast()
        }
        for index in names.indices where required[index] && seen & (1 << UInt64(index)) == 0 {
            errors.append(RecordError(.missingField, path: path.appending(names[index]).description, message: "is required"))
        }
    }
}

/// A plain decimal text `-?[0-9]{1,18}(\.[0-9]+)?` read without allocating: the integer part, its
/// sign, and whether a non-zero fraction follows. Other texts (exponents, `+`, longer integer
/// parts) are nil and left to `DecimalText`.
struct SmallDecimal: Equatable {
    var negative: Bool
    var integer: Int
    var hasFraction: Bool

    init?(_ text: String) {
        var negative = false
        var integer = 0
        var integerDigits = 0
        var hasFraction = false
        var fractionDigits = 0
        var inFraction = false
        var first = true
        for byte in text.utf8 {
            defer { first = false }
            if first && byte == UInt8(ascii: "-") {
                negative = true
                continue
            }
            let digit = byte &- UInt8(ascii: "0")
            if digit < 10 {
                if inFraction {
                    fractionDigits += 1
                    if digit != 0 { hasFraction = true }
                } else {
                    integerDigits += 1
                    guard integerDigits <= 18 else { return nil }
                    integer = integer * 10 + Int(digit)
                }
            } else if byte == UInt8(ascii: "."), !inFraction, integerDigits > 0 {
                inFraction = true
            } else {
                return nil
            }
        }
        guard integerDigits > 0, !inFraction || fractionDigits > 0 else { return nil }
        self.negative = negative
        self.integer = integer
        self.hasFraction = hasFraction
    }

    /// Whether the value is below the integer `bound`.
    func isBelow(_ bound: Int) -> Bool {
        if !hasFraction { return (negative ? -integer : integer) < bound }
        // -(i + f) < b exactly when -i <= b; i + f < b exactly when i < b (0 < f < 1, b whole).
        return negative ? -integer <= bound : integer < bound
    }

    /// Whether the value is above the integer `bound`.
    func isAbove(_ bound: Int) -> Bool {
        if !hasFraction { return (negative ? -integer : integer) > bound }
        return negative ? -integer > bound : integer >= bound
    }

    /// `decimal` as an `Int` when it is a whole number of at most 18 digits.
    static func integer(of decimal: DecimalText) -> Int? {
        guard decimal.isInteger, decimal.digits.count + decimal.exponent <= 18 else { return nil }
        guard let value = decimal.scaled(byPowerOfTen: 0) else { return nil }
        return value
    }
}
