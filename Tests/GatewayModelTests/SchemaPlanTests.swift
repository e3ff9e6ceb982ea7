import Testing
@testable import GatewayModel

/// `SchemaPlan` (the compiled schema `CanonicalValidator` walks) against `SchemaRule.validate` (the
/// rules as declared): the same errors, in the same order, with the same messages, for every
/// member of every sample replaced by values chosen to hit each fast path's edges.
@Suite struct SchemaPlanTests {
    /// The errors of the declared rules (the walk `SchemaPlan` replaces), domain rules included.
    func declared(_ record: JSONValue, kind: RecordKind) -> [RecordError] {
        var errors: [RecordError] = []
        var path = JSONPointer.root
        SchemaRule.object(CanonicalValidator.schema(for: kind)).validate(record, path: &path, into: &errors)
        return errors + CanonicalValidator.domainErrors(record)
    }

    static let numberTexts = [
        "0", "-0", "00", "007", "1", "-1", "1.5", "-1.5", "12.00", "12.010", "-0.5", "-0.0", "0.000", "1e2", "1E2", "+3", "1.", ".5",
        "-", "--1", "1..2", "1.2.3", "abc", "", "3", "2.999", "3.0", "3.0001", "54", "54.0", "54.01", "53.999", "73", "72.9999",
        "73.0", "136", "136.0", "136.0000001", "107.86", "-73", "6", "6.0", "9", "12", "11", "20000", "100000000000",
        "100000000000.0", "100000000000.5", "100000000001", "99999999999.99", "999999999999999999", "9999999999999999999",
        "-999999999999999999", "123456789012345678901234", "1e-2", "5e0", "1.5e1", "0x10", " 1", "1 ", "１２",
    ]

    static let stringValues: [JSONValue] = [
        "", "a", "ab", "abcd", "site", "camera", "pending", "paid", "s\u{0069}te", "sit\u{00E9}", "site\u{0301}",
        "川S12345", "川A1234挂", "渝FD12345", "川I12345", "川s12345", "川S1234", "川S1234567", "Ｓ12345", "川Ｓ12345",
        "511723199001011233", "51172319900101123X", "511723199001011234", "５１１７２３１９９００１０１１２３３", "511723900101123",
        "91511723MA62B4K7Q1", "91511723MA62B4K7Q2", "2023-07-11T09:00:00+08:00", "2023-02-29T09:00:00+08:00",
        "2023-07-11T24:00:00+08:00", "２０２３-07-11T09:00:00+08:00", "2023-07-11", "2023-13-01", "2024-02-29", "２０２４-02-29",
        "511723", "511723107", "511723107001", "911723", "5117231", "５１１７２３", "02", "2", "1625", "16250", "162",
        "sc-traffic:5117230000123456", "sc-traffic:", "Sc-traffic:1", "sc-traffic-xml/1", "sc-traffic-xml/", "application/pdf",
        "e9f6ed2cb6c25d2bf09425a1a6a1f1263468cdc4aa87a8883fe85f6e06a763ce", "liangping", "all", "sichuan", "chongqing",
        "fine", "warning", "closed", "filed", "organization", "person", "transport",
        .string(String(repeating: "长", count: 50)), .string(String(repeating: "长", count: 51)),
        .string(String(repeating: "x", count: 200)), .string(String(repeating: "x", count: 201)),
        .string(String(repeating: "𠀀", count: 100)), .string(String(repeating: "𠀀", count: 101)), "开交", "开交执罚", "e\u{301}e\u{301}",
    ]

    static var values: [JSONValue?] {
        var values: [JSONValue?] = [nil, .null, true, false, [], ["liangping"], ["liangping", "liangping"], ["all", 1], [:]]
        values += stringValues
        values += numberTexts.map { .number(JSONNumber(uncheckedText: $0)) }
        values += [["name": "王五", "certificateNumber": "51172301001"], ["law": "x"], ["type": "fine"], ["type": "fine", "amountFen": 0]]
        values += [["type": "fine", "amountFen": .number(JSONNumber(uncheckedText: "0.0"))], ["unknown": 1]]
        return values
    }

    /// Every pointer of `value` (objects' members and arrays' items, interior ones too).
    static func pointers(_ value: JSONValue, _ prefix: String = "") -> [String] {
        switch value {
        case .object(let object):
            return object.members.flatMap { [prefix + "/" + $0.key] + pointers($0.value, prefix + "/" + $0.key) } + [prefix + "/extra"]
        case .array(let items):
            return items.indices.flatMap { [prefix + "/\($0)"] + pointers(items[$0], prefix + "/\($0)") }
        default:
            return []
        }
    }

    @Test func compiledPlanAnswersAsTheDeclaredRules() throws {
        var compared = 0
        var failing = 0
        for (sample, kind) in zip(Samples.all, [RecordKind.trafficViolation, .enforcementCase, .bulletin]) {
            for pointer in Self.pointers(sample) where pointer != "/kind" {
                for value in Self.values {
                    let record = Samples.changing(sample, pointer, to: value)
                    let compiled = CanonicalValidator.validate(record)
                    let expected = declared(record, kind: kind)
                    #expect(compiled == expected, "\(pointer) = \(value?.canonicalString ?? "absent")")
                    compared += 1
                    if !expected.isEmpty { failing += 1 }
                }
            }
        }
        // The comparison covers both outcomes widely (a walk that found nothing would compare nothing).
        #expect(compared > 10_000)
        #expect(failing > compared / 2)
    }

    /// Numbers at the bounds of every numeric rule, each rule compiled alone.
    @Test func numbersCompareAsDecimals() {
        let rules: [SchemaRule] = [
            .integer(code: .invalidAmount, minimum: DecimalText("0"), maximum: DecimalText("100000000000"), allowed: nil),
            .integer(code: .invalidValue, minimum: nil, maximum: nil, allowed: [0, 1, 3, 6, 9, 12].map { DecimalText(String($0))! }),
            .integer(code: .invalidValue, minimum: DecimalText("0"), maximum: nil, allowed: nil),
            .integer(code: .invalidValue, minimum: DecimalText("-5"), maximum: DecimalText("5"), allowed: nil),
            .integer(code: .invalidValue, minimum: DecimalText("1e30"), maximum: nil, allowed: nil),
            .number(minimum: DecimalText("73")!, maximum: DecimalText("136")!),
            .number(minimum: DecimalText("3")!, maximum: DecimalText("54")!),
            .number(minimum: DecimalText("-3")!, maximum: DecimalText("-1")!),
            .number(minimum: DecimalText("0.5")!, maximum: DecimalText("1.5")!),
            .constant(1), .constant(.number(JSONNumber(uncheckedText: "1.0"))), .constant("bulletin"),
        ]
        var texts = Self.numberTexts
        for i in -140...140 { texts += ["\(i)", "\(i).0", "\(i).5", "\(i).000001", "-\(i).5"] }
        var mismatches: [String] = []
        for rule in rules {
            let plan = SchemaPlan(rule)
            for text in texts {
                let value = JSONValue.number(JSONNumber(uncheckedText: text))
                var a: [RecordError] = [], b: [RecordError] = []
                var p1 = JSONPointer.root, p2 = JSONPointer.root
                rule.validate(value, path: &p1, into: &a)
                plan.validate(value, path: &p2, into: &b)
                if a != b { mismatches.append("\(rule) \(text): \(a) vs \(b)") }
            }
        }
        #expect(mismatches == [])
    }

    /// Lengths near every limit, in scalars of one to four UTF-8 bytes (and combining marks).
    @Test func lengthsCountCodePoints() {
        let pieces = ["a", "é", "长", "𠀀", "e\u{301}"]
        var mismatches: [String] = []
        for (minimum, maximum) in [(0, 5), (1, 5), (4, 60), (4, 8), (2, 3), (1, .max), (0, 0)] {
            let rule = SchemaRule.text(min: minimum, max: maximum)
            let plan = SchemaPlan(rule)
            for piece in pieces {
                for other in pieces {
                    for count in 0...70 {
                        let text = String(repeating: piece, count: count / 2) + String(repeating: other, count: count - count / 2)
                        var a: [RecordError] = [], b: [RecordError] = []
                        var p1 = JSONPointer.root, p2 = JSONPointer.root
                        rule.validate(.string(text), path: &p1, into: &a)
                        plan.validate(.string(text), path: &p2, into: &b)
                        if a != b { mismatches.append("\(minimum)...\(maximum) \(text): \(a) vs \(b)") }
                    }
                }
            }
        }
        #expect(mismatches == [])
    }

    @Test func smallDecimalReadsOnlyPlainDecimals() {
        #expect(SmallDecimal("12.50") == SmallDecimal(negative: false, integer: 12, hasFraction: true))
        #expect(SmallDecimal("-7.000") == SmallDecimal(negative: true, integer: 7, hasFraction: false))
        for text in ["1e2", "+1", "1.", ".5", "", "-", "1-", "1234567890123456789", "１"] { #expect(SmallDecimal(text) == nil, "\(text)") }
    }
}

extension SmallDecimal {
    init(negative: Bool, integer: Int, hasFraction: Bool) {
        self = SmallDecimal("0")!
        self.negative = negative
        self.integer = integer
        self.hasFraction = hasFraction
    }
}

/// `Plate.isValid` without its scalar array and set look-ups, against the way it was written.
@Suite struct PlateValidatorTests {
    static func reference(_ text: String) -> Bool {
        var iterator = text.unicodeScalars.makeIterator()
        guard let province = iterator.next(), Plate.provinces.contains(province),
            let office = iterator.next(), Plate.isLetter(office)
        else { return false }
        var rest: [Unicode.Scalar] = []
        while let scalar = iterator.next() {
            rest.append(scalar)
            if rest.count > 6 { return false }
        }
        guard rest.count == 5 || rest.count == 6, let last = rest.last else { return false }
        guard rest.dropLast().allSatisfy(Plate.isLetterOrDigit) else { return false }
        return Plate.isLetterOrDigit(last) || Plate.suffixes.contains(last)
    }

    @Test func plateAnswersAsBefore() {
        var random = JSONRobustnessTests.SeededGenerator(state: 7)
        // Mostly plate-like texts (a province, an office letter, then letters and digits), with
        // every place now and then taking a character a plate must not have.
        let provinces = Array("京川渝粤琼一中A".unicodeScalars)
        let letters = Array("AHJNPZ019IOs挂Ｓ".unicodeScalars)
        let rest = Array("AHJNPZ0123456789".unicodeScalars) + Array("IOｓ５ -学警超挂".unicodeScalars)
        var texts = ["川S12345", "渝FD12345", "川A1234挂", "川A12345挂", "川I12345", "川S1234", "川S1234567", "", "川", "川S", "川Ｓ12345"]
        for _ in 0..<20_000 {
            var text = ""
            text.unicodeScalars.append(provinces[Int.random(in: 0..<(Bool.random(using: &random) ? 5 : provinces.count), using: &random)])
            text.unicodeScalars.append(letters[Int.random(in: 0..<(Bool.random(using: &random) ? 6 : letters.count), using: &random)])
            let valid = Int.random(in: 0..<4, using: &random) > 0
            for _ in 0..<Int.random(in: 3...8, using: &random) {
                text.unicodeScalars.append(rest[Int.random(in: 0..<(valid ? 16 : rest.count), using: &random)])
            }
            texts.append(text)
        }
        let differing = texts.filter { Plate.isValid($0) != Self.reference($0) || Plate.isValid(Substring($0)) != Self.reference($0) }
        #expect(differing == [])
        #expect(texts.filter(Plate.isValid).count > 100)  // both answers occur
    }
}

