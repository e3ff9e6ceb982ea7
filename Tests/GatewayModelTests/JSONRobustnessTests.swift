import Testing
@testable import GatewayModel

/// Seeded mutations of valid documents: the parser must answer every one (value or error, never a
/// crash), and whatever it accepts must survive a canonical round trip unchanged.
@Suite struct JSONRobustnessTests {
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let interesting: [UInt8] = Array("{}[]\",:\\/u0e-+.tfn \n".utf8) + [0x00, 0x1F, 0x7F, 0x80, 0xC3, 0xE4, 0xED, 0xF0, 0xFF]

    @Test func mutatedDocumentsNeverCrashAndRoundTrip() throws {
        var generator = SeededGenerator(state: 20_230_711)
        let originals = [Samples.trafficViolationText, Samples.enforcementCaseText, Samples.bulletinText].map { Array($0.utf8) }
        var accepted = 0
        var rejected = 0
        for round in 0..<3000 {
            var bytes = originals[round % originals.count]
            for _ in 0...Int.random(in: 0...3, using: &generator) {
                let position = Int.random(in: 0..<bytes.count, using: &generator)
                switch Int.random(in: 0...2, using: &generator) {
                case 0: bytes[position] = Self.interesting.randomElement(using: &generator)!
                case 1: bytes.remove(at: position)
                default: bytes.insert(Self.interesting.randomElement(using: &generator)!, at: position)
                }
            }
            do throws(JSONParseError) {
                let value = try JSONParser.parse(bytes)
                accepted += 1
                let canonical = value.canonicalBytes()
                let again = try JSONParser.parse(canonical)
                #expect(again.canonicalBytes() == canonical)
            } catch {
                rejected += 1
                #expect(error.offset >= 0 && error.offset <= bytes.count)
                #expect(error.line >= 1 && error.column >= 1)
            }
        }
        // Both outcomes must actually have been exercised.
        #expect(accepted > 50)
        #expect(rejected > 1000)
    }

    @Test func hostileShapesCostBoundedWork() throws {
        // Very many members: the duplicate check must not be quadratic.
        let members = (0..<50_000).map { "\"m\($0)\":\($0)" }.joined(separator: ",")
        let value = try JSONParser.parse("{" + members + "}")
        #expect(value.objectValue?.count == 50_000)
        #expect(throws: JSONParseError.self) { try JSONParser.parse("{" + members + ",\"m49999\":0}") }
        // Deep nesting is refused before it can exhaust the stack.
        let deep = String(repeating: "[", count: 100_000)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(deep) }
        // A long string of escapes.
        let escapes = "\"" + String(repeating: "\\u00e9", count: 20_000) + "\""
        #expect(try JSONParser.parse(escapes).stringValue?.count == 20_000)
    }
}
