import Testing
@testable import GatewayModel

/// The fast JCS writer (`CanonicalWriter`: word-at-a-time escape scan, 64-bit sort prefixes,
/// copied plain numbers) against a straightforward RFC 8785 reference written from the RFC's text
/// with the standard library's string views, over many generated values.
@Suite struct CanonicalJSONDifferentialTests {
    // MARK: The reference

    /// RFC 8785 written the obvious way: members sorted by `Array(key.utf16)`, strings escaped
    /// scalar by scalar, every number through its double.
    static func reference(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool(let flag): return flag ? "true" : "false"
        case .number(let number):
            guard let double = Double(number.text), double.isFinite else { return "null" }
            return JSONNumber.ecmaScriptText(double)
        case .string(let string): return referenceString(string)
        case .array(let elements): return "[" + elements.map(reference).joined(separator: ",") + "]"
        case .object(let object):
            let sorted = object.members.sorted { a, b in
                Array(a.key.utf16).lexicographicallyPrecedes(Array(b.key.utf16))
            }
            return "{" + sorted.map { referenceString($0.key) + ":" + reference($0.value) }.joined(separator: ",") + "}"
        }
    }

    static func referenceString(_ string: String) -> String {
        var out = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\u{8}": out += "\\b"
            case "\u{C}": out += "\\f"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    // MARK: Generated values

    /// Seeded (SplitMix64), so that a failure names the seed that reproduces it.
    typealias SeededGenerator = JSONRobustnessTests.SeededGenerator

    /// Scalars from every range that matters to JCS: ASCII, what must be escaped, DEL, two- and
    /// three-byte UTF-8 below U+D800, U+E000...U+FFFF (sorts after surrogates in UTF-16, before
    /// them in UTF-8), astral characters (surrogate pairs), and the edges of each range.
    static let scalarPools: [[Unicode.Scalar]] = [
        Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_.:/@".unicodeScalars),
        (0..<0x20).map { Unicode.Scalar(UInt8($0)) } + ["\"", "\\", "\u{7F}"],
        ["\u{80}", "é", "ß", "\u{7FF}", "\u{800}", "张", "三", "川", "\u{2028}", "\u{D7FF}"],
        ["\u{E000}", "\u{E001}", "\u{F8FF}", "\u{FB01}", "\u{FF5E}", "\u{FFFD}", "\u{FFFF}"],
        ["\u{10000}", "😂", "😀", "\u{1F9FF}", "\u{20000}", "\u{10FFFF}"],
    ]

    static func randomString(maxLength: Int, using generator: inout SeededGenerator) -> String {
        let length = Int.random(in: 0...maxLength, using: &generator)
        // Mostly one pool per string (long clean runs, as in records), sometimes all of them mixed.
        let mixed = Int.random(in: 0..<4, using: &generator) == 0
        let home = scalarPools.randomElement(using: &generator)!
        var scalars = String.UnicodeScalarView()
        for _ in 0..<length {
            let pool = mixed || Int.random(in: 0..<8, using: &generator) == 0 ? scalarPools.randomElement(using: &generator)! : home
            scalars.append(pool.randomElement(using: &generator)!)
        }
        return String(scalars)
    }

    static func randomNumberText(using generator: inout SeededGenerator) -> String {
        func digits(_ count: Int) -> String {
            String((0..<count).map { _ in "0123456789".randomElement(using: &generator)! })
        }
        let sign = Bool.random(using: &generator) ? "-" : ""
        switch Int.random(in: 0..<8, using: &generator) {
        case 0: return sign + "0"
        case 1: return sign + String(Int.random(in: 1...999_999, using: &generator))
        case 2: return sign + String(Int.random(in: 1...9, using: &generator)) + digits(Int.random(in: 10...25, using: &generator))
        case 3: return sign + String(Int.random(in: 0...99_999, using: &generator)) + "." + digits(Int.random(in: 1...12, using: &generator))
        case 4: return sign + "0.0000" + digits(Int.random(in: 1...6, using: &generator))
        case 5:
            return sign + String(Int.random(in: 1...9, using: &generator)) + (Bool.random(using: &generator) ? "e" : "E")
                + ["", "+", "-"].randomElement(using: &generator)! + String(Int.random(in: 0...330, using: &generator))
        case 6: return sign + String(Int.random(in: 1...99, using: &generator)) + ".0" + digits(Int.random(in: 0...3, using: &generator)) + "0"
        default: return sign + String(Int.random(in: 1...9, using: &generator)) + "." + digits(Int.random(in: 14...18, using: &generator))
        }
    }

    static func randomValue(depth: Int, using generator: inout SeededGenerator) -> JSONValue {
        let choice = Int.random(in: 0..<(depth > 0 ? 8 : 5), using: &generator)
        switch choice {
        case 0: return [.null, .bool(true), .bool(false)].randomElement(using: &generator)!
        case 1, 2: return .number(JSONNumber(uncheckedText: randomNumberText(using: &generator)))
        case 3, 4: return .string(randomString(maxLength: 40, using: &generator))
        case 5:
            return .array((0..<Int.random(in: 0...5, using: &generator)).map { _ in randomValue(depth: depth - 1, using: &generator) })
        default:
            // Keys of every length around the eight-byte sort prefix, some sharing long prefixes
            // (the full comparison), unique as the parser makes them.
            var keys: [String] = []
            var seen = Set<[UInt8]>()
            let stem = randomString(maxLength: 10, using: &generator)
            for _ in 0..<Int.random(in: 0...12, using: &generator) {
                let key = Bool.random(using: &generator)
                    ? stem + randomString(maxLength: 4, using: &generator)
                    : randomString(maxLength: 14, using: &generator)
                if seen.insert(Array(key.utf8)).inserted { keys.append(key) }
            }
            return .object(JSONObject(keys.map { JSONObject.Member(key: $0, value: randomValue(depth: depth - 1, using: &generator)) }))
        }
    }

    // MARK: Tests

    @Test(arguments: 0..<8)
    func generatedValuesMatchTheReference(seed: UInt64) throws {
        var generator = SeededGenerator(state: 0x5EED_0000 + seed)
        var objects = 0
        for round in 0..<1_500 {
            let value = Self.randomValue(depth: 4, using: &generator)
            if case .object = value { objects += 1 }
            let expected = Array(Self.reference(value).utf8)
            let bytes = value.canonicalBytes()
            #expect(bytes == expected, "seed \(seed) round \(round): \(String(decoding: bytes, as: UTF8.self)) vs \(Self.reference(value))")
            guard bytes == expected else { return }
            var appended: [UInt8] = [0x20]
            value.writeCanonical(to: &appended)
            #expect(appended == [0x20] + expected)
            #expect(value.canonicalString == Self.reference(value))
            // What the writer emits is JSON that reads back to the same canonical bytes.
            #expect(try JSONParser.parse(bytes).canonicalBytes() == bytes)
        }
        #expect(objects > 300)
    }

    /// Every byte value at every position of texts of 1...20 bytes (the word scan's whole words,
    /// overlapping last word, four-byte pairs and three-byte short form).
    @Test func everyByteAtEveryPositionIsEscapedAsTheReferenceDoes() {
        for length in 1...20 {
            for position in 0..<length {
                for byte in UInt8(0)...UInt8(0x7F) {
                    var scalars = String.UnicodeScalarView(repeatElement("a", count: length))
                    let index = scalars.index(scalars.startIndex, offsetBy: position)
                    scalars.replaceSubrange(index...index, with: [Unicode.Scalar(byte)])
                    let string = String(scalars)
                    let bytes = JSONValue.string(string).canonicalBytes()
                    #expect(String(decoding: bytes, as: UTF8.self) == Self.referenceString(string), "length \(length) byte \(byte) at \(position)")
                }
            }
        }
    }

    /// Pairs of names ordered by the sort prefix (and the full comparison when prefixes tie)
    /// exactly as by UTF-16 code units.
    @Test func memberNamePairsSortAsUTF16() {
        var generator = SeededGenerator(state: 0xC0FFEE)
        for _ in 0..<20_000 {
            let a = Self.randomString(maxLength: 12, using: &generator)
            var b = Self.randomString(maxLength: 12, using: &generator)
            if Bool.random(using: &generator) { b = String(a.prefix(Int.random(in: 0...a.count, using: &generator))) + b }
            guard a.utf8.elementsEqual(b.utf8) == false else { continue }
            let value = JSONValue.object(JSONObject([.init(key: a, value: 1), .init(key: b, value: 2)]))
            #expect(value.canonicalString == Self.reference(value), "\(Array(a.unicodeScalars)) vs \(Array(b.unicodeScalars))")
        }
    }
}
