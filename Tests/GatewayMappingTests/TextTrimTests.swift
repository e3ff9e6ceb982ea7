import Testing

@testable import GatewayMapping

/// `Text.trim` decides white space without Unicode's property tables (issue 18): it must agree
/// with them exactly, and its fast path must not keep white space at either end.
@Suite struct TextTrimTests {
    @Test func whiteSpaceIsUnicodesWhiteSpaceProperty() {
        var disagreements: [UInt32] = []
        for value in UInt32(0)...0x10FFFF {
            guard let scalar = Unicode.Scalar(value) else { continue }
            if Text.isWhitespace(scalar) != scalar.properties.isWhitespace { disagreements.append(value) }
        }
        #expect(disagreements.isEmpty)
    }

    @Test func everyWhiteSpaceCharacterIsTrimmedAtEitherEnd() {
        let spaces = (UInt32(0)...0x3000).compactMap(Unicode.Scalar.init).filter(\.properties.isWhitespace)
        #expect(spaces.count == 25)
        for space in spaces {
            let s = String(space)
            #expect(Text.trim(s + "川S·12345" + s) == "川S·12345", "U+\(String(space.value, radix: 16))")
            #expect(Text.trim(s + "abc") == "abc")
            #expect(Text.trim("任市镇" + s) == "任市镇")
            #expect(Text.trim(s + s) == "")
        }
        #expect(Text.trim("任市镇中心街") == "任市镇中心街")
        #expect(Text.trim("\u{3000}任市镇\u{00A0}中心街\u{3000}") == "任市镇\u{00A0}中心街")
        #expect(Text.trim("𠀀") == "𠀀")
        #expect(Text.trim("") == "")
    }
}
