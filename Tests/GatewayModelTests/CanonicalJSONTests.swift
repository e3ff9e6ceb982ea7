import Testing
@testable import GatewayModel

@Suite struct CanonicalJSONTests {
    static let vectorNames = ["arrays.json", "french.json", "structures.json", "unicode.json", "values.json", "weird.json"]

    @Test func vectorFolderHoldsTheKnownFiles() throws {
        // Guards against the vectors silently disappearing (the loop test would then test nothing).
        #expect(try TestData.files(in: "testdata/jcs/input") == Self.vectorNames)
    }

    @Test(arguments: vectorNames)
    func rfc8785Vectors(name: String) throws {
        let input = try TestData.bytes("testdata/jcs/input/" + name)
        var expected = try TestData.bytes("testdata/jcs/output/" + name)
        if expected.last == 0x0A { expected.removeLast() }
        let value = try JSONParser.parse(input)
        #expect(value.canonicalBytes() == expected, "\(name): \(value.canonicalString)")
    }

    /// RFC 8785 appendix B: IEEE 754 bit patterns and their ECMAScript text.
    @Test(arguments: [
        (0x0000_0000_0000_0001, "5e-324"),
        (0x8000_0000_0000_0000, "0"),
        (0x7FEF_FFFF_FFFF_FFFF, "1.7976931348623157e+308"),
        (0x4340_0000_0000_0000, "9007199254740992"),
        (0xC340_0000_0000_0000, "-9007199254740992"),
        (0x4430_0000_0000_0000, "295147905179352830000"),
        (0x44B5_2D02_C7E1_4AF5, "9.999999999999997e+22"),
        (0x44B5_2D02_C7E1_4AF6, "1e+23"),
        (0x44B5_2D02_C7E1_4AF7, "1.0000000000000001e+23"),
        (0x444B_1AE4_D6E2_EF4E, "999999999999999700000"),
        (0x444B_1AE4_D6E2_EF4F, "999999999999999900000"),
        (0x444B_1AE4_D6E2_EF50, "1e+21"),
        (0x3EB0_C6F7_A0B5_ED8C, "9.999999999999997e-7"),
        (0x3EB0_C6F7_A0B5_ED8D, "0.000001"),
        (0x41B3_DE43_5555_5553, "333333333.3333332"),
        (0x41B3_DE43_5555_5554, "333333333.33333325"),
        (0x41B3_DE43_5555_5555, "333333333.3333333"),
        (0x41B3_DE43_5555_5556, "333333333.3333334"),
        (0x41B3_DE43_5555_5557, "333333333.33333343"),
        (0xBECB_F647_612F_3696, "-0.0000033333333333333333"),
        (0x4314_3FF3_C1CB_0959, "1424953923781206.2"),
    ] as [(UInt64, String)])
    func ecmaScriptNumbers(bits: UInt64, expected: String) {
        #expect(JSONNumber.ecmaScriptText(Double(bitPattern: bits)) == expected)
    }

    @Test(arguments: [
        ("0", "0"), ("-0", "0"), ("-0.0", "0"), ("56.0", "56"), ("4.50", "4.5"), ("1E30", "1e+30"),
        ("2e-3", "0.002"), ("1e-7", "1e-7"), ("0.000001", "0.000001"), ("1e21", "1e+21"),
        ("1e20", "100000000000000000000"), ("123e-20", "1.23e-18"), ("-1.5e-9", "-1.5e-9"),
        ("20000", "20000"), ("-42", "-42"), ("100000000000", "100000000000"),
        ("9007199254740993", "9007199254740992"),  // beyond 2^53 the double decides
        ("1152921504606846976", "1152921504606847000"),
        ("99999999999999999999999", "1e+23"),
        ("107.86", "107.86"), ("30.860", "30.86"), ("0.1", "0.1"),
        ("1e400", "null"),  // out of double range: ECMAScript JSON.stringify(Infinity)
    ])
    func numberTexts(text: String, expected: String) {
        #expect(JSONNumber(uncheckedText: text).canonicalText == expected)
        #expect(JSONValue.number(JSONNumber(uncheckedText: text)).canonicalString == expected)
    }

    /// The copy-as-is path for plain decimals must agree with the double-based path on every text
    /// it takes, and must decline the texts the double rewrites.
    @Test func plainDecimalFastPathAgreesWithTheDoublePath() {
        var generator = SystemRandomNumberGenerator()
        var taken = 0
        for _ in 0..<20_000 {
            let integerDigits = Int.random(in: 0...17, using: &generator)
            let fractionDigits = Int.random(in: 0...9, using: &generator)
            var text = Bool.random(using: &generator) ? "-" : ""
            text += integerDigits == 0 ? "0" : String((0..<integerDigits).map { _ in "0123456789".randomElement(using: &generator)! })
            if fractionDigits > 0 {
                text += "." + String((0..<fractionDigits).map { _ in "0000123456789".randomElement(using: &generator)! })
            }
            let viaDouble = JSONNumber.ecmaScriptText(Double(text)!)
            if JSONNumber.isCanonicalPlainDecimal(text) {
                taken += 1
                #expect(text == viaDouble, "\(text)")
            }
            #expect(JSONNumber(uncheckedText: text).canonicalText == viaDouble, "\(text)")
        }
        #expect(taken > 1_000)
        for text in ["0", "12", "-12", "0.5", "-0.5", "107.86", "0.000001", "123456789012345"] {
            #expect(JSONNumber.isCanonicalPlainDecimal(text), "\(text)")
        }
        for text in ["-0", "0.0", "4.50", "01", "1e5", "1.", ".5", "0.0000001", "1234567890123456", "", "-", "1.2.3"] {
            #expect(!JSONNumber.isCanonicalPlainDecimal(text), "\(text)")
        }
    }

    /// Members in any order, already sorted or not, give the same bytes (every permutation tried
    /// here, and the sorted one).
    @Test func memberOrderDoesNotChangeTheBytes() {
        let members: [JSONObject.Member] = ["zeta", "a", "\u{FF5E}", "😂", "ab", "", "b", "\u{E000}", "B", "aa"]
            .enumerated().map { JSONObject.Member(key: $0.element, value: .number(JSONNumber($0.offset))) }
        let expected = JSONValue.object(JSONObject(members)).canonicalString
        #expect(expected.hasPrefix("{\"\":5,\"B\":8,\"a\":1,\"aa\":9,\"ab\":4,\"b\":6,\"zeta\":0,\"😂\":3,"))
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let shuffled = JSONValue.object(JSONObject(members.shuffled(using: &generator)))
            #expect(shuffled.canonicalString == expected)
        }
        let sortedKeys = ["", "B", "a", "aa", "ab", "b", "zeta", "😂", "\u{E000}", "\u{FF5E}"]
        let inOrder = JSONObject(sortedKeys.map { key in members.first { $0.key == key }! })
        #expect(JSONValue.object(inOrder).canonicalString == expected)
    }

    @Test func stringEscaping() {
        let value: JSONValue = .string("a\"b\\c\u{8}\u{C}\n\r\t\u{0}\u{1F}\u{7F}/€😂\u{2028}")
        #expect(value.canonicalString == #""a\"b\\c\b\f\n\r\t\u0000\u001f"# + "\u{7F}/€😂\u{2028}\"")
    }

    @Test func membersSortByUTF16CodeUnits() {
        // U+FF5E (UTF-8 EF BD 9E) sorts after U+1F602 (surrogates D83D DE02) in UTF-16,
        // although its UTF-8 bytes sort first.
        let value: JSONValue = ["\u{FF5E}": 1, "😂": 2, "b": 3, "a": 4, "ab": 5, "": 6, "\u{E000}": 7]
        #expect(value.canonicalString == "{\"\":6,\"a\":4,\"ab\":5,\"b\":3,\"😂\":2,\"\u{E000}\":7,\"\u{FF5E}\":1}")
        #expect(JSONValue.utf16Precedes("a", "ab"))
        #expect(!JSONValue.utf16Precedes("ab", "a"))
        #expect(!JSONValue.utf16Precedes("a", "a"))
    }

    @Test func nestedStructuresAndLiterals() throws {
        let value = try JSONParser.parse(#" { "z" : [ 1 , { "b" : null , "a" : false } ] , "y" : true } "#)
        #expect(value.canonicalString == #"{"y":true,"z":[1,{"a":false,"b":null}]}"#)
        var buffer: [UInt8] = Array("x".utf8)
        value.writeCanonical(to: &buffer)
        #expect(buffer == Array("x".utf8) + value.canonicalBytes())
    }

    @Test func canonicalOutputParsesBackToTheSameValue() throws {
        let value: JSONValue = ["name": "张三\n", "list": [1, 2.5, "x"], "nested": ["k": nil]]
        let reparsed = try JSONParser.parse(value.canonicalBytes())
        #expect(reparsed.canonicalBytes() == value.canonicalBytes())
    }
}
