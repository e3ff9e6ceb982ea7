import GatewayModel

/// `DecimalText`'s grammar and `scaled(byPowerOfTen:)` for the `number` and `money` transforms,
/// read straight from a string's UTF-8 without building the digit array.
///
/// `DecimalText.init` takes `some StringProtocol` across a module boundary, so every call ran
/// unspecialised (witness-table iteration, an array per value): 26% of the transforms' time on
/// Sichuan traffic documents (issue 18). These must answer exactly as `DecimalText` does
/// (`TextDecimalTests` compares them on generated texts); text that is not native UTF-8 goes
/// through `DecimalText` itself.
extension Text {
    /// What `DecimalText(text)` and `scaled(byPowerOfTen:)` would answer.
    struct ScaledDecimal: Equatable {
        /// `DecimalText.isNegative`: below zero (never for zero).
        var isNegative: Bool
        /// `DecimalText.scaled(byPowerOfTen:)`.
        var scaled: Int?
    }

    /// `DecimalText(text) != nil` and `Double(text)` finite, as the `number` transform requires:
    /// a decimal below 10^308 is finite whatever its rounding (Double's largest is 1.797…e308), so
    /// only longer ones go through `Double` (strtod).
    static func isFiniteDecimal(_ text: String) -> Bool {
        let known: Bool?? = text.utf8.withContiguousStorageIfAvailable { bytes in
            guard let shape = scan(bytes) else { return .some(false) }
            return shape.count + shape.exponent <= 308 ? .some(true) : .none
        }
        if let known, let answer = known { return answer }
        guard known != nil || DecimalText(text) != nil, let d = Double(text) else { return false }
        return d.isFinite
    }

    /// `DecimalText(text)` scaled by `10^power`; nil when it does not parse.
    static func scaledDecimal(_ text: String, byPowerOfTen power: Int) -> ScaledDecimal? {
        // The outer optional: whether the string had contiguous UTF-8; the inner: whether it parsed.
        let known: ScaledDecimal?? = text.utf8.withContiguousStorageIfAvailable { bytes in
            scan(bytes).map { $0.scaled(bytes, byPowerOfTen: power) }
        }
        if let known { return known }
        guard let d = DecimalText(text) else { return nil }
        return ScaledDecimal(isNegative: d.isNegative, scaled: d.scaled(byPowerOfTen: power))
    }

    /// Where the significant digits of a decimal stand in its text.
    private struct DecimalShape {
        var negative: Bool
        /// Range of the significant digits (first to last non-zero digit, a `.` may lie between);
        /// empty for zero.
        var first: Int
        var end: Int
        /// How many digits (not counting `.`) lie in `first..<end`.
        var count: Int
        /// `DecimalText.exponent`: the power of ten the significant digits are multiplied by.
        var exponent: Int

        func scaled(_ bytes: UnsafeBufferPointer<UInt8>, byPowerOfTen power: Int) -> ScaledDecimal {
            if count == 0 { return ScaledDecimal(isNegative: false, scaled: 0) }
            let scale = exponent + power
            guard scale >= 0, count + scale <= 19 else { return ScaledDecimal(isNegative: negative, scaled: nil) }
            var value = 0
            for i in first..<end where bytes[i] != UInt8(ascii: ".") {
                let (times10, o1) = value.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(Int(bytes[i] - UInt8(ascii: "0")))
                guard !o1, !o2 else { return ScaledDecimal(isNegative: negative, scaled: nil) }
                value = sum
            }
            for _ in 0..<scale {
                let (times10, overflow) = value.multipliedReportingOverflow(by: 10)
                guard !overflow else { return ScaledDecimal(isNegative: negative, scaled: nil) }
                value = times10
            }
            return ScaledDecimal(isNegative: negative, scaled: negative ? -value : value)
        }
    }

    /// `DecimalText.exponentLimit` (internal to GatewayModel): larger exponents are refused.
    private static var exponentLimit: Int { 100_000 }

    /// `DecimalText.init`'s grammar: `[+-]digits[.digits][(e|E)[+-]digits]`, exponent digits up to
    /// `DecimalText.exponentLimit`; nil when the text does not follow it.
    private static func scan(_ bytes: UnsafeBufferPointer<UInt8>) -> DecimalShape? {
        let n = bytes.count
        var i = 0
        var negative = false
        if i < n, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
            negative = bytes[i] == UInt8(ascii: "-")
            i += 1
        }
        var first = -1
        var end = -1
        var count = 0
        /// Digits after the first significant one, up to and including the last non-zero one.
        var sinceFirst = 0
        var fractionDigits = 0
        var trailingZeros = 0
        @inline(__always) func digit(_ b: UInt8, at i: Int) {
            if b == UInt8(ascii: "0") {
                if first >= 0 { trailingZeros += 1; sinceFirst += 1 }
                return
            }
            if first < 0 { first = i }
            sinceFirst += 1
            count = sinceFirst
            trailingZeros = 0
            end = i + 1
        }
        let integerStart = i
        while i < n, bytes[i] &- UInt8(ascii: "0") < 10 {
            digit(bytes[i], at: i)
            i += 1
        }
        guard i > integerStart else { return nil }
        if i < n, bytes[i] == UInt8(ascii: ".") {
            i += 1
            let fractionStart = i
            while i < n, bytes[i] &- UInt8(ascii: "0") < 10 {
                digit(bytes[i], at: i)
                i += 1
            }
            fractionDigits = i - fractionStart
            guard fractionDigits > 0 else { return nil }
        }
        var exponent = -fractionDigits
        if i < n, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            var exponentNegative = false
            if i < n, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
                exponentNegative = bytes[i] == UInt8(ascii: "-")
                i += 1
            }
            var value = 0
            let start = i
            while i < n, bytes[i] &- UInt8(ascii: "0") < 10 {
                value = value * 10 + Int(bytes[i] - UInt8(ascii: "0"))
                guard value <= exponentLimit else { return nil }
                i += 1
            }
            guard i > start else { return nil }
            exponent += exponentNegative ? -value : value
        }
        guard i == n else { return nil }
        if first < 0 { return DecimalShape(negative: false, first: 0, end: 0, count: 0, exponent: 0) }
        return DecimalShape(negative: negative, first: first, end: end, count: count, exponent: exponent + trailingZeros)
    }
}
