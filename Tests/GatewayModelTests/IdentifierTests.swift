import Testing
@testable import GatewayModel

@Suite struct IDNumberTests {
    @Test(arguments: ["511723199001011233", "500228199001011235", "11010519491231002X", "510100200002290016"])
    func acceptsValidNumbers(text: String) {
        #expect(IDNumber.problem(in: text) == nil)
        #expect(IDNumber.isValid(text))
    }

    @Test(arguments: [
        ("511723900101123", IDNumber.Problem.legacyFifteenDigits),
        ("51172319900101123", .length),
        ("5117231990010112333", .length),
        ("", .length),
        ("51172319900101123x", .characters),
        ("5117231990010112A3", .characters),
        ("５11723199001011233", .length),  // full-width digit: 3 UTF-8 bytes, not normalised here
        ("011723199001011233", .region),
        ("911723199001011233", .region),
        ("440524188001010014", .birthDate),  // 1880
        ("511723199002301233", .birthDate),  // 30 February
        ("511723199013011233", .birthDate),
        ("511723210001011233", .birthDate),  // 2100
        ("511723199001011234", .checkCharacter),
        ("51172319900101123X", .checkCharacter),
    ])
    func rejectsWithReason(text: String, problem: IDNumber.Problem) {
        #expect(IDNumber.problem(in: text) == problem)
        #expect(!problem.description.contains(text))
    }

    @Test func computesCheckCharacters() {
        #expect(IDNumber.checkCharacter(forFirst17: "11010519491231002") == "X")
        #expect(IDNumber.checkCharacter(forFirst17: "51172319900101123") == "3")
        #expect(IDNumber.checkCharacter(forFirst17: "5117231990") == nil)
    }
}

@Suite struct CreditCodeTests {
    @Test(arguments: ["91511723MA62B4K7Q1", "11511723MB12345679", "91500155MA5U7T2L33", "11500155MB0000000D"])
    func acceptsValidCodes(text: String) {
        #expect(CreditCode.problem(in: text) == nil)
        #expect(CreditCode.isValid(text))
    }

    @Test(arguments: [
        ("91511723MA62B4K7Q", CreditCode.Problem.length),
        ("91511723MA62B4K7Q12", .length),
        ("91511723MA62B4K7QI", .characters),  // I is not in the alphabet
        ("91511723MA62B4K7QO", .characters),
        ("91511723ma62b4k7q1", .characters),
        ("9151172AMA62B4K7Q1", .characters),  // letter in the region code
        ("91511723MA62B4K7Q2", .checkCharacter),
        ("91511723MA62B4K7QA", .checkCharacter),
    ])
    func rejectsWithReason(text: String, problem: CreditCode.Problem) {
        #expect(CreditCode.problem(in: text) == problem)
    }

    @Test func computesCheckCharacters() {
        #expect(CreditCode.checkCharacter(forFirst17: "11500155MB0000000") == "D")
        #expect(CreditCode.checkCharacter(forFirst17: "91511723MA62B4K7Q") == "1")
        #expect(CreditCode.checkCharacter(forFirst17: "9151172") == nil)
    }
}

@Suite struct PlateAndDivisionTests {
    @Test(arguments: ["川S12345", "渝FD12345", "川A1234挂", "京AF0236", "粤B12345", "川AD1234学", "渝A12345"])
    func acceptsPlates(text: String) {
        #expect(Plate.isValid(text))
    }

    @Test(arguments: ["", "川S1234", "川S1234567", "川I12345", "川O12345", "川s12345", "台A12345", "川1A2345",
                      "川S·12345", "川S 12345", "川SI2345", "川S12挂45", "ＡS12345", "川S１2345", "渝FD1234挂5"])
    func rejectsPlates(text: String) {
        #expect(!Plate.isValid(text))
    }

    @Test(arguments: [("511723", true), ("511723107", true), ("511723107001", true), ("500155", true),
                      ("011723", false), ("911723", false), ("51172", false), ("5117231", false),
                      ("5117231070", false), ("51172310700a", false), ("", false), ("5117231070011", false)])
    func divisionCodes(text: String, valid: Bool) {
        #expect(DivisionCode.isValid(text) == valid)
    }
}

@Suite struct MaskingTests {
    @Test func masksIDNumbers() {
        #expect(Masking.idNumber("511723199001011233") == "511723********1233")
        #expect(Masking.idNumber("11010519491231002X") == "110105********002X")
        #expect(Masking.idNumber("511723900101123") == "511723*****1123")
        #expect(Masking.idNumber("12345") == "1****")
    }

    @Test func masksNames() {
        #expect(Masking.name("张三") == "张*")
        #expect(Masking.name("欧阳娜娜") == "欧***")
        #expect(Masking.name("张") == "*")
        #expect(Masking.name("") == "")
        #expect(Masking.name("开江县某某运输有限公司") == "开" + String(repeating: "*", count: 10))
    }

    @Test func masksOtherValues() {
        #expect(Masking.value("") == "")
        #expect(Masking.value("ab") == "**")
        #expect(Masking.value("abc") == "a**")
        #expect(Masking.value("川S12345") == "川******")
        #expect(Masking.value("91511723MA62B4K7Q1") == "9151**********K7Q1")
        // Never returns the value itself.
        for text in ["x", "xy", "xyz", "wxyz", "abcdefgh", "张三丰"] {
            #expect(Masking.value(text) != text)
        }
    }
}
