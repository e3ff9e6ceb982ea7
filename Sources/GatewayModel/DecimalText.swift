/// An exact decimal read from text (`200`, `200.00`, `0.3`, `-1`, `1.5e3`), never through binary
/// floating point: the value is `digits × 10^exponent`.
///
/// Used for money: `scaled(byPowerOfTen: 2)` turns 元 into fen and fails when a fraction finer
/// than one fen remains. Negative values parse (the caller rejects them as `invalid-amount`).
public struct DecimalText: Sendable, Hashable, CustomStringConvertible {
    /// True for values below zero (never for zero, also when written `-0`).
    public let isNegative: Bool
    /// Significant digits as ASCII, without leading or trailing zeros; empty for zero.
    public let digits: [UInt8]
    /// Power of ten the digits are multiplied by.
    public let exponent: Int

    /// Largest exponent magnitude read; beyond it the text is rejected rather than expanded.
    static let exponentLimit = 100_000

    /// Parses `[+-]digits[.digits][(e|E)[+-]digits]`; leading zeros are allowed (`007.50`), a lone
    /// `.` or missing digits on either side of it are not (`.5`, `5.`), nor are spaces.
    public init?(_ text: some StringProtocol) {
        var digits: [UInt8] = []
        var negative = false
        var exponent = 0
        var sawDigit = false
        var fractionDigits = 0
        var iterator = text.utf8.makeIterator()
        var byte = iterator.next()
        if byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+") {
            negative = byte == UInt8(ascii: "-")
            byte = iterator.next()
        }
        // Integer part.
        while let b = byte, b &- UInt8(ascii: "0") < 10 {
            sawDigit = true
            if !(digits.isEmpty && b == UInt8(ascii: "0")) { digits.append(b) }
            byte = iterator.next()
        }
        guard sawDigit else { return nil }
        // Fraction.
        if byte == UInt8(ascii: ".") {
            byte = iterator.next()
            while let b = byte, b &- UInt8(ascii: "0") < 10 {
                fractionDigits += 1
                if !(digits.isEmpty && b == UInt8(ascii: "0")) { digits.append(b) }
                exponent -= 1
                byte = iterator.next()
            }
            guard fractionDigits > 0 else { return nil }
        }
        // Exponent.
        if byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
            byte = iterator.next()
            var exponentNegative = false
            if byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+") {
                exponentNegative = byte == UInt8(ascii: "-")
                byte = iterator.next()
            }
            var value = 0
            var count = 0
            while let b = byte, b &- UInt8(ascii: "0") < 10 {
                value = value * 10 + Int(b - UInt8(ascii: "0"))
                count += 1
                guard value <= Self.exponentLimit else { return nil }
                byte = iterator.next()
            }
            guard count > 0 else { return nil }
            exponent += exponentNegative ? -value : value
        }
        guard byte == nil else { return nil }
        // Normalise: trailing zeros move into the exponent.
        while digits.last == UInt8(ascii: "0") {
            digits.removeLast()
            exponent += 1
        }
        if digits.isEmpty {
            exponent = 0
            negative = false
        }
        self.isNegative = negative
        self.digits = digits
        self.exponent = exponent
    }

    /// Reads a JSON number from its exact text.
    public init?(_ number: JSONNumber) { self.init(number.text) }

    public var isZero: Bool { digits.isEmpty }

    /// Whether the value has no fractional part.
    public var isInteger: Bool { exponent >= 0 }

    /// The value × 10^power as an `Int`, or nil when a fraction remains or it does not fit.
    ///
    /// `DecimalText("200.1")?.scaled(byPowerOfTen: 2) == 20010` (元 → fen);
    /// `DecimalText("0.3")?.scaled(byPowerOfTen: 6) == 300000` (万元 → fen);
    /// `DecimalText("0.001")?.scaled(byPowerOfTen: 2) == nil` (finer than one fen).
    public func scaled(byPowerOfTen power: Int) -> Int? {
        if digits.isEmpty { return 0 }
        let scale = exponent + power
        guard scale >= 0, digits.count + scale <= 19 else { return nil }
        var value = 0
        for digit in digits {
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(Int(digit - UInt8(ascii: "0")))
            guard !o1, !o2 else { return nil }
            value = sum
        }
        for _ in 0..<scale {
            let (times10, overflow) = value.multipliedReportingOverflow(by: 10)
            guard !overflow else { return nil }
            value = times10
        }
        return isNegative ? -value : value
    }

    /// Plain decimal notation without exponent or superfluous zeros: `200`, `0.3`, `-1.25`.
    public var description: String {
        if digits.isEmpty { return "0" }
        var out: [UInt8] = []
        if isNegative { out.append(UInt8(ascii: "-")) }
        if exponent >= 0 {
            out.append(contentsOf: digits)
            out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: exponent))
        } else if -exponent < digits.count {
            let point = digits.count + exponent
            out.append(contentsOf: digits[..<point])
            out.append(UInt8(ascii: "."))
            out.append(contentsOf: digits[point...])
        } else {
            out.append(contentsOf: "0.".utf8)
            out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: -exponent - digits.count))
            out.append(contentsOf: digits)
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// The money units regional formats use, as powers of ten of one fen.
public enum MoneyUnit: Int, Sendable, Hashable, CaseIterable {
    /// 分
    case fen = 0
    /// 元 (100 fen)
    case yuan = 2
    /// 万元 (10,000 元 = 1,000,000 fen)
    case wanYuan = 6

    /// Converts an exact decimal amount in this unit to fen; nil when finer than one fen or too large.
    public func fen(_ amount: DecimalText) -> Int? { amount.scaled(byPowerOfTen: rawValue) }
}

extension DecimalText: Comparable {
    /// Exact numeric order (`2.50` == `2.5`, `1e2` > `99.9`).
    public static func < (a: DecimalText, b: DecimalText) -> Bool {
        if a.isNegative != b.isNegative { return a.isNegative }
        let magnitudeLess = DecimalText.magnitudeLess(a, b)
        let magnitudeGreater = DecimalText.magnitudeLess(b, a)
        return a.isNegative ? magnitudeGreater : magnitudeLess
    }

    private static func magnitudeLess(_ a: DecimalText, _ b: DecimalText) -> Bool {
        if a.digits.isEmpty { return !b.digits.isEmpty }
        if b.digits.isEmpty { return false }
        // Position of the most significant digit decides first.
        let aTop = a.digits.count + a.exponent
        let bTop = b.digits.count + b.exponent
        if aTop != bTop { return aTop < bTop }
        // Same magnitude: compare digit by digit (missing digits are zeros).
        for i in 0..<max(a.digits.count, b.digits.count) {
            let x = i < a.digits.count ? a.digits[i] : UInt8(ascii: "0")
            let y = i < b.digits.count ? b.digits[i] : UInt8(ascii: "0")
            if x != y { return x < y }
        }
        return false
    }
}

extension JSONNumber {
    /// The number with this exact decimal value, in plain notation (`0.3`, `-1.25`, `200`).
    public init(_ decimal: DecimalText) { self.init(uncheckedText: decimal.description) }

    /// Wraps `text` when it is RFC 8259 number syntax exactly (no sign `+`, no leading zeros,
    /// no spaces); nil otherwise. For numbers taken from text (XML) into JSON output.
    public init?(validating text: some StringProtocol) {
        let utf8 = Array(text.utf8)
        guard let first = utf8.first, let last = utf8.last,
            first == UInt8(ascii: "-") || first &- UInt8(ascii: "0") < 10, last &- UInt8(ascii: "0") < 10,
            case .number(let number)? = try? JSONParser.parse(utf8)
        else { return nil }
        self = number
    }
}
