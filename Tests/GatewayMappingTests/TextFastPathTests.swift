import Foundation
import GatewayModel
import Testing

@testable import GatewayMapping

/// The transforms' fast paths (issue 18) must answer exactly as the general code they bypass:
/// `Text.isFiniteDecimal` / `Text.scaledDecimal` as `DecimalText` (and `Double`), `Text.identifier` as NFKC then
/// `uppercased()`, `Text.isPlateSeparator` as the `plateSeparators` set.
@Suite struct TextFastPathTests {
    /// Texts from the characters that matter to the decimal grammar, every length up to 6
    /// exhaustively over a small alphabet, then random longer ones, then the edges by hand.
    static func decimalTexts() -> [String] {
        let small: [UInt8] = Array("0159.-+eE".utf8)
        var texts: [String] = [""]
        var level: [[UInt8]] = [[]]
        for _ in 1...5 {
            level = level.flatMap { prefix in small.map { prefix + [$0] } }
            texts += level.map { String(decoding: $0, as: UTF8.self) }
        }
        var rng = SystemRandomNumberGenerator()
        let wide: [UInt8] = Array("0000123456789..--++eE x元".utf8)
        for _ in 0..<20_000 {
            let n = Int.random(in: 1...28, using: &rng)
            texts.append(String(decoding: (0..<n).map { _ in wide.randomElement(using: &rng)! }, as: UTF8.self))
        }
        texts += [
            "200", "200.00", "0.3", "-1", "1.5e3", "007.50", ".5", "5.", "-0", "+0.000", "0e5", "1e100000", "1e100001",
            "1e-100000", "9223372036854775807", "9223372036854775808", "922337203685477580.7", "92233720368547758.08",
            "1000000000000000000", "10000000000000000000", "0.001", "0.01", "12345678901234567.89", "1E+2", "1e-2",
            "00000000000000000000000001", "1.00000000000000000000000", "-200.10", "2e-0", "3e", "3e+", "--1", "1 ", " 1",
            "1e308", "9.99e307", "1e309", "-1e309", "1.7976931348623157e308", "1.7976931348623159e308", "1.8e308", "0.1e309",
            "17976931348623157" + String(repeating: "0", count: 292), "1" + String(repeating: "0", count: 309), "1e-400",
        ]
        return texts
    }

    @Test func decimalFastPathAgreesWithDecimalText() {
        var disagreements: [String] = []
        for text in Self.decimalTexts() {
            let reference = DecimalText(text)
            let finite = reference != nil && Double(text).map(\.isFinite) == true
            if Text.isFiniteDecimal(text) != finite { disagreements.append("isFiniteDecimal(\(text.debugDescription))") }
            for power in [0, 2, 6] {
                let expected = reference.map { Text.ScaledDecimal(isNegative: $0.isNegative, scaled: $0.scaled(byPowerOfTen: power)) }
                let got = Text.scaledDecimal(text, byPowerOfTen: power)
                if got != expected { disagreements.append("\(text.debugDescription) ×10^\(power): \(String(describing: got)) ≠ \(String(describing: expected))") }
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.prefix(20))")
        // The comparison saw both outcomes, and amounts that scale to fen.
        #expect(Text.scaledDecimal("200.1", byPowerOfTen: 2) == Text.ScaledDecimal(isNegative: false, scaled: 20010))
        #expect(Text.scaledDecimal("0.001", byPowerOfTen: 2) == Text.ScaledDecimal(isNegative: false, scaled: nil))
        #expect(Text.scaledDecimal("5.", byPowerOfTen: 2) == nil)
        #expect(Text.isFiniteDecimal("1e308") && !Text.isFiniteDecimal("1e309") && Text.isFiniteDecimal("1e-400"))
    }

    /// Bridged (non-native) strings have no contiguous UTF-8 and take the general path.
    @Test func bridgedStringsTakeTheGeneralPath() {
        let bridged = NSString(string: "200.50") as String
        #expect(Text.scaledDecimal(bridged, byPowerOfTen: 2) == Text.ScaledDecimal(isNegative: false, scaled: 20050))
        #expect(Text.isFiniteDecimal(NSString(string: "1e") as String) == false)
        #expect(Text.isFiniteDecimal(NSString(string: "1e309") as String) == false)
        #expect(Text.isFiniteDecimal(NSString(string: "107.86") as String))
        #expect(Text.identifier(NSString(string: "川s·a1") as String) == "川S·A1")
    }

    @Test func identifierFastPathAgreesWithNFKCUppercase() {
        let pieces = [
            "a", "Z", "z", "0", "-", " ", "川", "渝", "鿿", "一", "·", "•", "ａ", "Ａ", "①", "ß", "é", "e\u{301}", "㊀", "\u{3000}",
            "\u{00A0}", "・", "\u{2027}", "ﬁ", "𠀀", "ǆ", "µ", "\u{4DFF}", "\u{A000}", "\u{2021}", "\u{2023}",
        ]
        var rng = SystemRandomNumberGenerator()
        var disagreements: [String] = []
        var texts = pieces
        for _ in 0..<5_000 {
            texts.append((0..<Int.random(in: 0...8, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined())
        }
        for text in texts {
            let expected = text.precomposedStringWithCompatibilityMapping.uppercased()
            if Text.identifier(text) != expected { disagreements.append(text) }
        }
        #expect(disagreements.isEmpty, "\(disagreements.prefix(20))")
        #expect(Text.identifier("川s·a1") == "川S·A1")
        #expect(Text.plate("川s·a1 2-3") == "川SA123")
    }

    @Test func plateSeparatorSwitchIsTheSet() {
        var disagreements: [UInt32] = []
        for value in UInt32(0)...0x10FFFF {
            guard let scalar = Unicode.Scalar(value) else { continue }
            if Text.isPlateSeparator(scalar) != Text.plateSeparators.contains(scalar) { disagreements.append(value) }
        }
        #expect(disagreements.isEmpty)
        #expect(Text.plateSeparators.allSatisfy(Text.isPlateSeparator))
    }
}
