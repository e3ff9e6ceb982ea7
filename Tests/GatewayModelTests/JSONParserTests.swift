import Testing
@testable import GatewayModel

@Suite struct JSONParserTests {
    func parse(_ text: String, _ options: JSONParser.Options = .init()) throws(JSONParseError) -> JSONValue {
        try JSONParser.parse(Array(text.utf8), options: options)
    }

    func reason(_ text: String, _ options: JSONParser.Options = .init()) -> JSONParseError.Reason? {
        reason(bytes: Array(text.utf8), options)
    }

    func reason(bytes: [UInt8], _ options: JSONParser.Options = .init()) -> JSONParseError.Reason? {
        do {
            _ = try JSONParser.parse(bytes, options: options)
            return nil
        } catch {
            return error.reason
        }
    }

    @Test func parsesAllValueKinds() throws {
        let value = try parse(#" { "a": [1, -2.5e+3, true, false, null], "b": {"c": "d"}, "e": "" } "#)
        #expect(value == ["a": [1, .number(JSONNumber(uncheckedText: "-2.5e+3")), true, false, nil], "b": ["c": "d"], "e": ""])
        #expect(value.objectValue?.keys == ["a", "b", "e"])
    }

    @Test func scalarDocuments() throws {
        #expect(try parse("42") == 42)
        #expect(try parse("\"x\"") == "x")
        #expect(try parse(" null ") == nil)
        #expect(try parse("[]") == [])
        #expect(try parse("{}") == .object(JSONObject()))
    }

    @Test func numbersKeepTheirExactText() throws {
        let big = "123456789012345678901234567890.000000000000000000001"
        #expect(try parse(big).numberValue?.text == big)
        #expect(try parse("200.10").numberValue?.text == "200.10")
        #expect(try parse("-0").numberValue?.text == "-0")
        #expect(try parse("1E400").numberValue?.text == "1E400")
        #expect(try parse("[0.5,0e1]") == [.number(JSONNumber(uncheckedText: "0.5")), .number(JSONNumber(uncheckedText: "0e1"))])
    }

    @Test func stringEscapes() throws {
        #expect(try parse(#""a\"b\\c\/d\b\f\n\r\t""#) == "a\"b\\c/d\u{8}\u{C}\n\r\t")
        #expect(try parse(#""\u00e9\u4E2D\ud83d\ude02""#) == "é中😂")
        #expect(try parse(#""\u0000""#).stringValue?.utf8.elementsEqual([0]) == true)
        #expect(try parse("\"川S12345 张三\"") == "川S12345 张三")
        // Unnormalised text stays unnormalised.
        #expect(try parse(#""A\u030a""#).stringValue?.unicodeScalars.count == 2)
    }

    @Test func byteOrderMark() throws {
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        #expect(try JSONParser.parse(bom + Array("{\"a\":1}".utf8)) == ["a": 1])
        #expect(reason(bytes: bom + Array("1".utf8), .init(allowByteOrderMark: false)) == .unexpectedCharacter)
        // A BOM in the middle is not skipped.
        #expect(reason(bytes: Array(" ".utf8) + bom + Array("1".utf8)) == .unexpectedCharacter)
    }

    @Test func depthLimit() throws {
        let ok = String(repeating: "[", count: 256) + String(repeating: "]", count: 256)
        _ = try parse(ok)
        let tooDeep = String(repeating: "[", count: 257) + String(repeating: "]", count: 257)
        #expect(reason(tooDeep) == .tooDeep(maxDepth: 256))
        let objects = String(repeating: "{\"a\":", count: 257) + "1" + String(repeating: "}", count: 257)
        #expect(reason(objects) == .tooDeep(maxDepth: 256))
        #expect(reason("[[1]]", .init(maxDepth: 1)) == .tooDeep(maxDepth: 1))
        _ = try parse("[1]", .init(maxDepth: 1))
    }

    @Test func duplicateMemberNames() {
        #expect(reason(#"{"a":1,"a":2}"#) == .duplicateMemberName)
        #expect(reason(#"{"a":1,"b":{"c":1,"c":1}}"#) == .duplicateMemberName)
        // The same name written with an escape is the same name.
        #expect(reason(#"{"a":1,"\u0061":2}"#) == .duplicateMemberName)
        // Large objects use the hashed check.
        let many = (0..<40).map { "\"k\($0)\":\($0)" }.joined(separator: ",")
        #expect(reason("{" + many + ",\"k7\":0}") == .duplicateMemberName)
        #expect(reason("{" + many + "}") == nil)
        // Canonically equivalent but different code points are different names.
        #expect(reason(#"{"\u00c5":1,"A\u030a":2}"#) == nil)
    }

    @Test func rejectsNonFiniteNumbers() {
        #expect(reason("NaN") == .nonFiniteNumber)
        #expect(reason("[Infinity]") == .nonFiniteNumber)
        #expect(reason("-Infinity") == .nonFiniteNumber)
    }

    @Test func rejectsCommentsAndTrailingCommas() {
        #expect(reason("// c\n1") == .comment)
        #expect(reason("[1 /* c */]") == .comment)
        #expect(reason("{\"a\":1 // c\n}") == .comment)
        #expect(reason("1 // c") == .comment)
        #expect(reason("[1,]") == .trailingComma)
        #expect(reason("{\"a\":1,}") == .trailingComma)
        #expect(reason("[,1]") == .unexpectedCharacter)
    }

    @Test func rejectsBadNumbers() {
        #expect(reason("01") == .leadingZero)
        #expect(reason("-01") == .leadingZero)
        #expect(reason("[00]") == .leadingZero)
        #expect(reason("1.") == .invalidNumber)
        #expect(reason(".5") == .unexpectedCharacter)
        #expect(reason("1e") == .invalidNumber)
        #expect(reason("1e+") == .invalidNumber)
        #expect(reason("-") == .unexpectedEndOfInput)
        #expect(reason("+1") == .unexpectedCharacter)
        #expect(reason("0x10") == .trailingContent)
    }

    @Test func rejectsBadStrings() {
        #expect(reason("\"a\tb\"") == .controlCharacterInString)
        #expect(reason("\"a\u{1}\"") == .controlCharacterInString)
        #expect(reason(#""\x""#) == .invalidEscape)
        #expect(reason(#""\u12g4""#) == .invalidEscape)
        #expect(reason(#""abc"#) == .unexpectedEndOfInput)
        #expect(reason(#""a\"#) == .unexpectedEndOfInput)
        #expect(reason("'a'") == .unexpectedCharacter)
    }

    @Test func rejectsLoneSurrogates() {
        #expect(reason(#""\ud800""#) == .loneSurrogate)
        #expect(reason(#""\ud800x""#) == .loneSurrogate)
        #expect(reason(#""\ud800\u0041""#) == .loneSurrogate)
        #expect(reason(#""\udc00""#) == .loneSurrogate)
        #expect(reason(#""\ud800\ud800""#) == .loneSurrogate)
    }

    @Test func rejectsInvalidUTF8() {
        let cases: [[UInt8]] = [
            [0xFF],  // never valid
            [0xC0, 0xAF],  // overlong
            [0xE0, 0x80, 0xAF],  // overlong
            [0xED, 0xA0, 0x80],  // encoded surrogate
            [0xF4, 0x90, 0x80, 0x80],  // above U+10FFFF
            [0xE4, 0xB8],  // truncated
            [0x80],  // stray continuation
        ]
        for bad in cases {
            #expect(reason(bytes: [0x22] + bad + [0x22]) == .invalidUTF8, "\(bad)")
            #expect(reason(bytes: [0x22, 0x5C, 0x6E] + bad + [0x22]) == .invalidUTF8, "escaped path \(bad)")
        }
        // Outside strings any non-ASCII byte is simply unexpected.
        #expect(reason(bytes: [0xE4, 0xB8, 0xAD]) == .unexpectedCharacter)
    }

    @Test func rejectsTrailingGarbageAndBadLiterals() {
        #expect(reason("1 2") == .trailingContent)
        #expect(reason("{} x") == .trailingContent)
        #expect(reason("tru") == .unexpectedEndOfInput)
        #expect(reason("trux") == .invalidLiteral)
        #expect(reason("truex") == .invalidLiteral)
        #expect(reason("True") == .unexpectedCharacter)
        #expect(reason("") == .unexpectedEndOfInput)
        #expect(reason("   ") == .unexpectedEndOfInput)
        #expect(reason("{\"a\" 1}") == .unexpectedCharacter)
        #expect(reason("{1:2}") == .unexpectedCharacter)
        #expect(reason("[1 2]") == .unexpectedCharacter)
        #expect(reason("\u{0B}1") == .unexpectedCharacter)  // vertical tab is not JSON white space
    }

    @Test func errorPositionAndMessage() {
        do {
            _ = try parse("{\n  \"name\": \"张三\",\n  \"x\": 01\n}")
            Issue.record("expected an error")
        } catch {
            #expect(error.reason == .leadingZero)
            #expect(error.line == 3)
            #expect(error.column == 8)
            #expect(error.offset == 29)
            #expect(!error.description.contains("张三"))
            let record = error.recordError
            #expect(record.code == .malformedDocument)
            #expect(record.line == 3 && record.column == 8)
        }
        do {
            _ = try parse("[\"张三\", \"李四\" ,]")
            Issue.record("expected an error")
        } catch {
            // Columns count characters, not bytes.
            #expect(error.line == 1)
            #expect(error.column == 13)
            #expect(!error.message.contains("李四"))
        }
    }

    @Test func parsesFromOtherInputs() throws {
        #expect(try JSONParser.parse("{\"a\":[1]}") == ["a": [1]])
        #expect(try JSONParser.parse(Array("[1]".utf8)[...]) == [1])
        let noncontiguous = "[true]".utf8.lazy.map { $0 }
        #expect(try JSONParser.parse(noncontiguous) == [true])
        let bytes = Array("[null]".utf8)
        let value = try bytes.withUnsafeBytes { buffer throws(JSONParseError) in try JSONParser.parse(buffer) }
        #expect(value == [nil])
    }
}
