import Testing
@testable import GatewayModel

@Suite struct DecimalTextTests {
    @Test(arguments: [
        ("200", 20000), ("200.00", 20000), ("200.1", 20010), ("0.01", 1), ("007.50", 750), ("-0", 0),
        ("+3", 300), ("1e3", 100_000), ("1.5E+2", 15000), ("12345e-2", 12345), ("0", 0), ("0.000", 0),
        ("1000000000", 100_000_000_000),
    ])
    func yuanToFen(text: String, fen: Int) throws {
        let amount = try #require(DecimalText(text))
        #expect(amount.scaled(byPowerOfTen: 2) == fen)
        #expect(MoneyUnit.yuan.fen(amount) == fen)
    }

    @Test func wanYuanToFen() throws {
        #expect(MoneyUnit.wanYuan.fen(try #require(DecimalText("0.3"))) == 300_000)
        #expect(MoneyUnit.wanYuan.fen(try #require(DecimalText("1.25"))) == 1_250_000)
        #expect(MoneyUnit.wanYuan.fen(try #require(DecimalText("0.00000001"))) == nil)
        #expect(MoneyUnit.wanYuan.fen(try #require(DecimalText("0.000001"))) == 1)
        #expect(MoneyUnit.fen.fen(try #require(DecimalText("15"))) == 15)
    }

    @Test(arguments: ["0.001", "200.005", "1e-3", "0.0000000000000000000000001"])
    func finerThanOneFenFails(text: String) throws {
        #expect(try #require(DecimalText(text)).scaled(byPowerOfTen: 2) == nil)
    }

    @Test func overflowFails() throws {
        #expect(try #require(DecimalText("92233720368547758.08")).scaled(byPowerOfTen: 2) == nil)
        #expect(try #require(DecimalText("92233720368547758.07")).scaled(byPowerOfTen: 2) == Int.max)
        #expect(try #require(DecimalText("1e100")).scaled(byPowerOfTen: 2) == nil)
        #expect(try #require(DecimalText("99999999999999999999")).scaled(byPowerOfTen: 0) == nil)
    }

    @Test func negativesParseAndStayNegative() throws {
        let amount = try #require(DecimalText("-1.50"))
        #expect(amount.isNegative)
        #expect(amount.scaled(byPowerOfTen: 2) == -150)
        #expect(try #require(DecimalText("-0.00")).isNegative == false)
    }

    @Test(arguments: ["", "-", ".5", "5.", "1,000", "1 000", "200元", "1e", "1e+", "0x10", "NaN", "1.2.3", " 1", "1e999999"])
    func rejectsNonDecimals(text: String) {
        #expect(DecimalText(text) == nil)
    }

    @Test func normalisesForEqualityAndDescription() throws {
        #expect(DecimalText("200.00") == DecimalText("2e2"))
        #expect(DecimalText("200.00")?.description == "200")
        #expect(DecimalText("0.30")?.description == "0.3")
        #expect(DecimalText("-0.005")?.description == "-0.005")
        #expect(DecimalText("12.5e1")?.description == "125")
        #expect(DecimalText("1234.5")?.description == "1234.5")
        #expect(DecimalText("1.5")?.isInteger == false)
        #expect(DecimalText("150e-2")?.isInteger == false)
        #expect(DecimalText("150e-1")?.scaled(byPowerOfTen: 0) == 15)
    }

    @Test func readsJSONNumbersExactly() throws {
        let value = try JSONParser.parse("200.1")
        let number = try #require(value.numberValue)
        let amount = try #require(DecimalText(number))
        #expect(amount.scaled(byPowerOfTen: 2) == 20010)
        // 0.1 + 0.2 style binary errors cannot happen: 0.29 元 is 29 fen exactly.
        #expect(DecimalText("0.29")?.scaled(byPowerOfTen: 2) == 29)
        #expect(DecimalText("1.005")?.scaled(byPowerOfTen: 3) == 1005)
    }
}

@Suite struct DecimalTextOrderTests {
    @Test(arguments: [
        ("1", "2"), ("-2", "-1"), ("-1", "0"), ("0", "0.001"), ("99.9", "1e2"), ("135.999", "136"),
        ("136", "136.0000000000000001"), ("73", "73.5"), ("-0.5", "0"), ("0.05", "0.5"), ("2.5", "2.51"),
    ])
    func orders(smaller: String, larger: String) throws {
        let a = try #require(DecimalText(smaller))
        let b = try #require(DecimalText(larger))
        #expect(a < b)
        #expect(!(b < a))
        #expect(a != b)
    }

    @Test func equalValuesAreEqual() {
        #expect(DecimalText("2.50") == DecimalText("2.5"))
        #expect(DecimalText("-0") == DecimalText("0.0"))
        #expect(!(DecimalText("2.50")! < DecimalText("2.5")!))
    }
}

@Suite struct JSONNumberFromTextTests {
    @Test(arguments: ["0", "-0", "107.86", "30.860", "1e3", "-1.5E-9", "123456789012345678901234567890"])
    func acceptsJSONNumberText(text: String) {
        #expect(JSONNumber(validating: text)?.text == text)
    }

    @Test(arguments: ["", "+1", "01", ".5", "5.", " 1", "1 ", "1e", "NaN", "0x1", "\"1\"", "[1]", "1,5"])
    func rejectsOtherText(text: String) {
        #expect(JSONNumber(validating: text) == nil)
    }

    @Test func fromDecimals() throws {
        #expect(JSONNumber(try #require(DecimalText("007.50"))).text == "7.5")
        #expect(JSONNumber(try #require(DecimalText("-1e2"))).text == "-100")
        #expect(JSONNumber(try #require(DecimalText("0.0030"))).text == "0.003")
        #expect(JSONNumber(validating: JSONNumber(try #require(DecimalText("+2.50e-3"))).text) != nil)
    }
}
