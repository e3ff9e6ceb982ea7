/// A strict RFC 8259 JSON parser working on UTF-8 bytes.
///
/// It rejects everything a lenient parser might read differently (formats.md, "Safety"):
/// duplicate member names, NaN/Infinity, comments, trailing commas, invalid UTF-8, lone surrogate
/// escapes, unescaped control characters, leading zeros, nesting deeper than `maxDepth` and
/// trailing content. Numbers keep their exact decimal text.
public enum JSONParser {
    public struct Options: Sendable, Hashable {
        /// Deepest nesting of arrays and objects accepted (256 accepts 256 nested `[`, not 257).
        public var maxDepth: Int
        /// A leading UTF-8 byte-order mark (EF BB BF) is skipped when true, rejected when false.
        public var allowByteOrderMark: Bool
        /// Most values (scalars, arrays and objects, members' values included) in one document:
        /// each costs a `JSONValue` in memory, so a body of one-byte values (`[0,0,0,…]`) would
        /// otherwise take many times its size.
        public var maxValues: Int
        /// The most memory the parsed value may take, in bytes as `JSONValue.MemoryCost` estimates
        /// them while reading (values, members, containers, strings); nil: no budget. The value
        /// bound alone does not bound memory: a value costs 25 times a 2-byte `0,`.
        public var maxMemoryBytes: Int?

        public init(maxDepth: Int = 256, allowByteOrderMark: Bool = true, maxValues: Int = 1_000_000, maxMemoryBytes: Int? = nil) {
            self.maxDepth = maxDepth
            self.allowByteOrderMark = allowByteOrderMark
            self.maxValues = maxValues
            self.maxMemoryBytes = maxMemoryBytes
        }
    }

    /// Parses one JSON document and says what the value takes in memory (`JSONValue.MemoryCost`),
    /// stopping with `tooMuchMemory` as soon as the estimate passes `maxMemoryBytes`.
    public static func parseMeasuring(_ bytes: [UInt8], options: Options = .init()) throws(JSONParseError)
        -> (value: JSONValue, estimatedBytes: Int)
    {
        let result: Result<(value: JSONValue, estimatedBytes: Int), JSONParseError> = bytes.withUnsafeBufferPointer { buffer in
            var reader = Reader(bytes: buffer, options: options)
            do throws(JSONParseError) {
                let value = try reader.parseDocument()
                return .success((value, reader.estimatedBytes))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Parses one JSON document from contiguous bytes (the fast path).
    public static func parse(_ bytes: UnsafeRawBufferPointer, options: Options = .init()) throws(JSONParseError)
        -> JSONValue
    {
        var reader = Reader(bytes: bytes.bindMemory(to: UInt8.self), options: options)
        return try reader.parseDocument()
    }

    /// Parses one JSON document from any collection of bytes (contiguous storage is used in place).
    public static func parse(_ bytes: some Collection<UInt8>, options: Options = .init()) throws(JSONParseError)
        -> JSONValue
    {
        let result: Result<JSONValue, JSONParseError>? = bytes.withContiguousStorageIfAvailable { buffer in
            var reader = Reader(bytes: buffer, options: options)
            do throws(JSONParseError) {
                return .success(try reader.parseDocument())
            } catch {
                return .failure(error)
            }
        }
        if let result { return try result.get() }
        return try parse(Array(bytes), options: options)
    }

    /// Parses one JSON document from a string's UTF-8.
    public static func parse(_ text: String, options: Options = .init()) throws(JSONParseError) -> JSONValue {
        var text = text
        let result: Result<JSONValue, JSONParseError> = text.withUTF8 { buffer in
            var reader = Reader(bytes: buffer, options: options)
            do throws(JSONParseError) {
                return .success(try reader.parseDocument())
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}

// MARK: - The reader

private let quote: UInt8 = 0x22
private let backslash: UInt8 = 0x5C

/// Member names compared by their UTF-8 bytes: Swift's `String ==` uses canonical equivalence,
/// which would call `"Å"` and `"A\u{30A}"` duplicates although JSON treats them as different.
private struct ByteKey: Hashable {
    let string: String
    static func == (a: ByteKey, b: ByteKey) -> Bool { a.string.hasSameUTF8(as: b.string) }
    func hash(into hasher: inout Hasher) {
        for byte in string.utf8 { hasher.combine(byte) }
    }
}

private struct Reader {
    let bytes: UnsafeBufferPointer<UInt8>
    let options: Options
    var position = 0
    var depth = 0
    /// Values started so far (`Options.maxValues`).
    var values = 0
    /// What the values read so far take (`JSONValue.MemoryCost`), and the budget (`Int.max`: none).
    var estimatedBytes = 0
    let maxMemoryBytes: Int
    /// Where the document starts (after a BOM), for column counting.
    var start = 0
    /// Scratch buffer for strings with escapes, reused across strings.
    var scratch: [UInt8] = []
    /// Members and elements of the objects and arrays being read, innermost last: each container
    /// is copied out once, at its end, instead of growing its own array step by step.
    var memberStack: [JSONObject.Member] = []
    var elementStack: [JSONValue] = []

    typealias Options = JSONParser.Options

    init(bytes: UnsafeBufferPointer<UInt8>, options: Options) {
        self.bytes = bytes
        self.options = options
        self.maxMemoryBytes = options.maxMemoryBytes ?? .max
    }

    /// Adds `bytes` to the estimate; past the budget, the document is refused where it stands.
    @inline(__always)
    mutating func charge(_ bytes: Int, at offset: Int) throws(JSONParseError) {
        estimatedBytes &+= bytes
        if estimatedBytes > maxMemoryBytes { throw error(.tooMuchMemory(maxBytes: maxMemoryBytes), at: offset) }
    }

    // MARK: Errors

    func error(_ reason: JSONParseError.Reason, at offset: Int) -> JSONParseError {
        var line = 1
        var column = 1
        var index = start
        let end = min(offset, bytes.count)
        while index < end {
            let byte = bytes[index]
            if byte == 0x0A {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
            index += 1
        }
        return JSONParseError(reason: reason, offset: offset, line: line, column: column)
    }

    // MARK: Structure

    mutating func parseDocument() throws(JSONParseError) -> JSONValue {
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF {
            guard options.allowByteOrderMark else { throw error(.unexpectedCharacter, at: 0) }
            position = 3
            start = 3
        }
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        if position < bytes.count {
            let byte = bytes[position]
            throw error(byte == 0x2F ? .comment : .trailingContent, at: position)
        }
        return value
    }

    @inline(__always)
    mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    mutating func parseValue() throws(JSONParseError) -> JSONValue {
        guard position < bytes.count else { throw error(.unexpectedEndOfInput, at: position) }
        values += 1
        if values > options.maxValues { throw error(.tooManyValues(maxValues: options.maxValues), at: position) }
        try charge(JSONValue.MemoryCost.value, at: position)
        switch bytes[position] {
        case quote:
            let begin = position
            let string = try parseString()
            try charge(JSONValue.MemoryCost.text(position - begin - 2), at: begin)
            return .string(string)
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "N"), UInt8(ascii: "I"): throw error(.nonFiniteNumber, at: position)
        case UInt8(ascii: "/"): throw error(.comment, at: position)
        default: throw error(.unexpectedCharacter, at: position)
        }
    }

    mutating func expectLiteral(_ literal: StaticString) throws(JSONParseError) {
        let count = literal.utf8CodeUnitCount
        let pointer = literal.utf8Start
        for i in 0..<count {
            guard position + i < bytes.count else { throw error(.unexpectedEndOfInput, at: position + i) }
            guard bytes[position + i] == pointer[i] else { throw error(.invalidLiteral, at: position) }
        }
        position += count
        // `trueish` must not pass as `true` followed by garbage in a way that hides the cause.
        if position < bytes.count, isLetter(bytes[position]) { throw error(.invalidLiteral, at: position - count) }
    }

    @inline(__always)
    func isLetter(_ byte: UInt8) -> Bool {
        (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z")
    }

    mutating func enter() throws(JSONParseError) {
        depth += 1
        if depth > options.maxDepth { throw error(.tooDeep(maxDepth: options.maxDepth), at: position) }
    }

    /// After an element or member: consumes `,` (false: more follow) or the closing bracket (true).
    mutating func closes(with close: UInt8) throws(JSONParseError) -> Bool {
        skipWhitespace()
        guard position < bytes.count else { throw error(.unexpectedEndOfInput, at: position) }
        let byte = bytes[position]
        if byte == close {
            position += 1
            return true
        }
        guard byte == UInt8(ascii: ",") else {
            throw error(byte == UInt8(ascii: "/") ? .comment : .unexpectedCharacter, at: position)
        }
        let comma = position
        position += 1
        skipWhitespace()
        if position < bytes.count, bytes[position] == close { throw error(.trailingComma, at: comma) }
        return false
    }

    mutating func parseArray() throws(JSONParseError) -> JSONValue {
        try enter()
        position += 1  // [
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
            position += 1
            depth -= 1
            return .array([])
        }
        try charge(JSONValue.MemoryCost.container, at: position)
        let base = elementStack.count
        while true {
            skipWhitespace()
            let element = try parseValue()
            elementStack.append(element)
            if try closes(with: UInt8(ascii: "]")) { break }
        }
        depth -= 1
        let elements = Array(elementStack[base...])
        elementStack.removeSubrange(base...)
        return .array(elements)
    }

    mutating func parseObject() throws(JSONParseError) -> JSONValue {
        try enter()
        position += 1  // {
        var seen: Set<ByteKey>? = nil
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
            position += 1
            depth -= 1
            return .object(JSONObject())
        }
        try charge(JSONValue.MemoryCost.container, at: position)
        let base = memberStack.count
        while true {
            skipWhitespace()
            guard position < bytes.count else { throw error(.unexpectedEndOfInput, at: position) }
            let keyStart = position
            guard bytes[position] == quote else {
                throw error(bytes[position] == UInt8(ascii: "/") ? .comment : .unexpectedCharacter, at: position)
            }
            let key = try parseString()
            try charge(JSONValue.MemoryCost.member + JSONValue.MemoryCost.text(position - keyStart - 2), at: keyStart)
            // Duplicate check: linear for small objects, hashed beyond that (bounded cost).
            if memberStack.count - base < 16 {
                for member in memberStack[base...] where member.key.hasSameUTF8(as: key) {
                    throw error(.duplicateMemberName, at: keyStart)
                }
            } else {
                if seen == nil { seen = Set(memberStack[base...].map { ByteKey(string: $0.key) }) }
                guard seen!.insert(ByteKey(string: key)).inserted else {
                    throw error(.duplicateMemberName, at: keyStart)
                }
            }
            skipWhitespace()
            guard position < bytes.count else { throw error(.unexpectedEndOfInput, at: position) }
            guard bytes[position] == UInt8(ascii: ":") else { throw error(.unexpectedCharacter, at: position) }
            position += 1
            skipWhitespace()
            let value = try parseValue()
            memberStack.append(JSONObject.Member(key: key, value: value))
            if try closes(with: UInt8(ascii: "}")) { break }
        }
        depth -= 1
        let members = Array(memberStack[base...])
        memberStack.removeSubrange(base...)
        return .object(JSONObject(members))
    }

    // MARK: Numbers

    mutating func parseNumber() throws(JSONParseError) -> JSONNumber {
        let begin = position
        if bytes[position] == UInt8(ascii: "-") {
            position += 1
            guard position < bytes.count else { throw error(.unexpectedEndOfInput, at: position) }
            if bytes[position] == UInt8(ascii: "I") { throw error(.nonFiniteNumber, at: begin) }
        }
        guard position < bytes.count, isDigit(bytes[position]) else { throw error(.invalidNumber, at: position) }
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
            if position < bytes.count, isDigit(bytes[position]) { throw error(.leadingZero, at: position - 1) }
        } else {
            skipDigits()
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard position < bytes.count, isDigit(bytes[position]) else { throw error(.invalidNumber, at: position) }
            skipDigits()
        }
        if position < bytes.count, bytes[position] | 0x20 == UInt8(ascii: "e") {
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                position += 1
            }
            guard position < bytes.count, isDigit(bytes[position]) else { throw error(.invalidNumber, at: position) }
            skipDigits()
        }
        try charge(JSONValue.MemoryCost.text(position - begin), at: begin)
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[begin..<position]), as: UTF8.self)
        return JSONNumber(uncheckedText: text)
    }

    @inline(__always)
    func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }

    @inline(__always)
    mutating func skipDigits() {
        while position < bytes.count, isDigit(bytes[position]) { position += 1 }
    }

    // MARK: Strings

    /// Parses a string starting at the opening quote; validates UTF-8 as it goes.
    mutating func parseString() throws(JSONParseError) -> String {
        position += 1  // opening quote
        let begin = position
        // Fast path: no escapes.
        while position < bytes.count {
            let byte = bytes[position]
            if byte == quote {
                let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[begin..<position]), as: UTF8.self)
                position += 1
                return text
            } else if byte == backslash {
                break
            } else if byte < 0x20 {
                throw error(.controlCharacterInString, at: position)
            } else if byte < 0x80 {
                position += 1
            } else {
                try skipMultibyte()
            }
        }
        guard position < bytes.count else { throw error(.unexpectedEndOfInput, at: position) }
        // Slow path: copy what we have, then decode escapes.
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[begin..<position]))
        while position < bytes.count {
            let byte = bytes[position]
            if byte == quote {
                position += 1
                return String(decoding: scratch, as: UTF8.self)
            } else if byte == backslash {
                try parseEscape()
            } else if byte < 0x20 {
                throw error(.controlCharacterInString, at: position)
            } else if byte < 0x80 {
                scratch.append(byte)
                position += 1
            } else {
                let from = position
                try skipMultibyte()
                scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[from..<position]))
            }
        }
        throw error(.unexpectedEndOfInput, at: position)
    }

    /// Validates one multi-byte UTF-8 sequence (RFC 3629 table 3-7) at `position` and skips it.
    @inline(__always)
    mutating func skipMultibyte() throws(JSONParseError) {
        let lead = bytes[position]
        let length: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; high = 0x9F
        case 0xF0: length = 4; low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; high = 0x8F
        default: throw error(.invalidUTF8, at: position)
        }
        guard position + length <= bytes.count else { throw error(.invalidUTF8, at: position) }
        let second = bytes[position + 1]
        guard second >= low, second <= high else { throw error(.invalidUTF8, at: position) }
        var i = 2
        while i < length {
            guard bytes[position + i] & 0xC0 == 0x80 else { throw error(.invalidUTF8, at: position) }
            i += 1
        }
        position += length
    }

    mutating func parseEscape() throws(JSONParseError) {
        let escapeStart = position
        position += 1
        guard position < bytes.count else { throw error(.unexpectedEndOfInput, at: position) }
        let byte = bytes[position]
        position += 1
        switch byte {
        case quote: scratch.append(quote)
        case backslash: scratch.append(backslash)
        case UInt8(ascii: "/"): scratch.append(UInt8(ascii: "/"))
        case UInt8(ascii: "b"): scratch.append(0x08)
        case UInt8(ascii: "f"): scratch.append(0x0C)
        case UInt8(ascii: "n"): scratch.append(0x0A)
        case UInt8(ascii: "r"): scratch.append(0x0D)
        case UInt8(ascii: "t"): scratch.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try parseHex4()
            if scalar >= 0xD800 && scalar <= 0xDBFF {
                guard position + 1 < bytes.count, bytes[position] == backslash, bytes[position + 1] == UInt8(ascii: "u")
                else { throw error(.loneSurrogate, at: escapeStart) }
                position += 2
                let low = try parseHex4()
                guard low >= 0xDC00 && low <= 0xDFFF else { throw error(.loneSurrogate, at: escapeStart) }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if scalar >= 0xDC00 && scalar <= 0xDFFF {
                throw error(.loneSurrogate, at: escapeStart)
            }
            appendUTF8(scalar)
        default:
            throw error(.invalidEscape, at: escapeStart)
        }
    }

    mutating func parseHex4() throws(JSONParseError) -> UInt32 {
        guard position + 4 <= bytes.count else { throw error(.unexpectedEndOfInput, at: bytes.count) }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw error(.invalidEscape, at: position)
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    mutating func appendUTF8(_ scalar: UInt32) {
        switch scalar {
        case 0..<0x80:
            scratch.append(UInt8(scalar))
        case 0x80..<0x800:
            scratch.append(UInt8(0xC0 | scalar >> 6))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            scratch.append(UInt8(0xE0 | scalar >> 12))
            scratch.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        default:
            scratch.append(UInt8(0xF0 | scalar >> 18))
            scratch.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            scratch.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        }
    }
}
