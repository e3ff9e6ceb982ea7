/// RFC 8785 JSON Canonicalization Scheme (JCS).
///
/// Members are sorted by the UTF-16 code units of their names, strings are escaped minimally
/// (only `"`, `\` and control characters), numbers are written as ECMAScript's
/// `Number.prototype.toString` writes the IEEE double they denote.
extension JSONValue {
    /// The canonical UTF-8 bytes of this value.
    public func canonicalBytes() -> [UInt8] {
        var writer = CanonicalWriter(capacity: 1024)
        writer.appendCanonical(self)
        return writer.bytes()
    }

    /// The canonical text of this value.
    public var canonicalString: String {
        var writer = CanonicalWriter(capacity: 1024)
        writer.appendCanonical(self)
        return writer.withBytes { String(decoding: $0, as: UTF8.self) }
    }

    /// Appends the canonical bytes of this value to `out` (for writing many records to one buffer).
    public func writeCanonical(to out: inout [UInt8]) {
        var writer = CanonicalWriter(capacity: 1024)
        writer.appendCanonical(self)
        writer.withBytes { out.append(contentsOf: $0) }
    }

    /// Whether `a` sorts before `b` by UTF-16 code units (RFC 8785 section 3.2.3).
    ///
    /// UTF-8 byte order equals code point order, which differs from UTF-16 order only where a
    /// character of U+E000...U+FFFF (lead byte EE or EF) meets one above U+FFFF (lead byte F0-F4):
    /// in UTF-16 the latter is a surrogate (D800-DFFF) and sorts first.
    static func utf16Precedes(_ a: String, _ b: String) -> Bool {
        a.withUTF8Bytes { x in b.withUTF8Bytes { y in utf16Precedes(x, y) } }
    }

    private static func utf16Precedes(_ x: UnsafeBufferPointer<UInt8>, _ y: UnsafeBufferPointer<UInt8>) -> Bool {
        let count = Swift.min(x.count, y.count)
        var i = 0
        while i < count {
            let p = x[i]
            let q = y[i]
            if p != q {
                if p >= 0xF0 && (q == 0xEE || q == 0xEF) { return true }
                if q >= 0xF0 && (p == 0xEE || p == 0xEF) { return false }
                return p < q
            }
            i += 1
        }
        return x.count < y.count
    }
}

extension JSONNumber {
    /// The RFC 8785 form of this number: ECMAScript `Number.prototype.toString` of its double.
    public var canonicalText: String {
        var writer = CanonicalWriter(capacity: 64)
        writer.appendCanonical(number: self)
        return writer.withBytes { String(decoding: $0, as: UTF8.self) }
    }

    /// Largest integer magnitude that every double represents exactly (2^53).
    private static let exactIntegerLimit = 9_007_199_254_740_992

    /// Writes the ECMAScript form of a number whose text is not already that form
    /// (`CanonicalWriter.appendCanonical(number:)` copies those).
    func writeConverted(to writer: inout CanonicalWriter) {
        // Fast path: integer text whose value a double holds exactly is written as the integer.
        if let integer = Self.integerValue(of: text), integer.magnitude <= Self.exactIntegerLimit {
            if integer == 0 {
                writer.append(UInt8(ascii: "0"))  // also for "-0"
            } else {
                writer.append(Array(String(integer).utf8))
            }
            return
        }
        guard let double = Double(text), double.isFinite else {
            // Out of double range (1e400): ECMAScript's JSON.stringify writes null for Infinity.
            writer.append("null")
            return
        }
        writer.append(Array(JSONNumber.ecmaScriptText(double).utf8))
    }

    /// Whether `text` is a plain decimal that ECMAScript writes back unchanged: `-?(0|[1-9][0-9]*)
    /// (\.[0-9]*[1-9])?`, not zero unless it is `0`, at most 15 significant digits (every such
    /// decimal survives the round trip through a double, and no shorter one denotes the same double),
    /// below 10^21 and, when below 1, at most five zeros after the point (so at least 10^-6).
    static func isCanonicalPlainDecimal(_ text: String) -> Bool {
        text.withUTF8Bytes { isCanonicalPlainDecimal($0) }
    }

    /// `isCanonicalPlainDecimal` on the UTF-8 bytes of the text.
    @inline(__always)
    static func isCanonicalPlainDecimal(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        let end = text.count
        guard end > 0 else { return false }
        var position = 0
        var byte = text[0]
        if byte == UInt8(ascii: "-") {
            guard end > 1 else { return false }
            position = 1
            byte = text[1]
        }
        var significant = 0
        var integerDigits = 0
        var leadingFractionZeros = 0
        var isZeroSoFar = true
        if byte == UInt8(ascii: "0") {
            // Only "0" itself, or "0." followed by a fraction.
            position += 1
            guard position < end else { return end == 1 }
            guard text[position] == UInt8(ascii: ".") else { return false }
        } else {
            guard byte &- UInt8(ascii: "1") < 9 else { return false }
            while position < end, text[position] &- UInt8(ascii: "0") < 10 {
                position += 1
                integerDigits += 1
            }
            significant = integerDigits
            isZeroSoFar = false
            guard position < end else { return significant <= 15 }
            guard text[position] == UInt8(ascii: ".") else { return false }
        }
        position += 1  // the point
        // After the point: at least one digit, the last one not 0.
        let fractionDigits = end - position
        while position < end {
            let next = text[position]
            guard next &- UInt8(ascii: "0") < 10 else { return false }
            if isZeroSoFar && next == UInt8(ascii: "0") {
                leadingFractionZeros += 1
            } else {
                isZeroSoFar = false
                significant += 1
            }
            position += 1
        }
        return fractionDigits > 0 && text[end - 1] != UInt8(ascii: "0") && significant <= 15 && integerDigits <= 21
            && (integerDigits > 0 || leadingFractionZeros <= 5)
    }

    /// `Int(text)` for plain integer text (`-?[0-9]+`), without going through `String` parsing rules
    /// that accept `+`.
    private static func integerValue(of text: String) -> Int? {
        var value = 0
        var negative = false
        var count = 0
        for byte in text.utf8 {
            if count == 0 && byte == UInt8(ascii: "-") && !negative {
                negative = true
                continue
            }
            let digit = byte &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            count += 1
            guard count <= 18 else { return nil }  // stays far below Int.max
            value = value * 10 + Int(digit)
        }
        guard count > 0 else { return nil }
        return negative ? -value : value
    }

    /// ECMAScript `Number.prototype.toString()` (ECMA-262 Number::toString, radix 10) of a finite double.
    public static func ecmaScriptText(_ value: Double) -> String {
        if value == 0 { return "0" }
        if value.rounded(.towardZero) == value, value.magnitude <= 9_007_199_254_740_992 {
            return String(Int(value))
        }
        // Swift's description gives the shortest round-trip digits; only the layout differs.
        var digits: [UInt8] = []
        digits.reserveCapacity(20)
        var pointPosition: Int? = nil
        var exponent = 0
        var exponentNegative = false
        var inExponent = false
        for byte in value.magnitude.description.utf8 {
            if inExponent {
                switch byte {
                case UInt8(ascii: "-"): exponentNegative = true
                case UInt8(ascii: "+"): break
                default: exponent = exponent * 10 + Int(byte - UInt8(ascii: "0"))
                }
            } else if byte == UInt8(ascii: ".") {
                pointPosition = digits.count
            } else if byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
                inExponent = true
            } else {
                digits.append(byte)
            }
        }
        if exponentNegative { exponent = -exponent }
        // value = 0.d1d2d3... × 10^n
        var n = (pointPosition ?? digits.count) + exponent
        var leading = 0
        while leading < digits.count - 1, digits[leading] == UInt8(ascii: "0") {
            leading += 1
            n -= 1
        }
        var end = digits.count
        while end > leading + 1, digits[end - 1] == UInt8(ascii: "0") { end -= 1 }
        let significant = digits[leading..<end]
        let k = significant.count

        var out: [UInt8] = []
        out.reserveCapacity(k + 8)
        if value < 0 { out.append(UInt8(ascii: "-")) }
        if k <= n && n <= 21 {
            out.append(contentsOf: significant)
            out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: n - k))
        } else if 0 < n && n <= 21 {
            out.append(contentsOf: significant.prefix(n))
            out.append(UInt8(ascii: "."))
            out.append(contentsOf: significant.dropFirst(n))
        } else if -6 < n && n <= 0 {
            out.append(contentsOf: "0.".utf8)
            out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: -n))
            out.append(contentsOf: significant)
        } else {
            out.append(significant.first!)
            if k > 1 {
                out.append(UInt8(ascii: "."))
                out.append(contentsOf: significant.dropFirst())
            }
            out.append(UInt8(ascii: "e"))
            out.append(n - 1 >= 0 ? UInt8(ascii: "+") : UInt8(ascii: "-"))
            out.append(contentsOf: String((n - 1).magnitude).utf8)
        }
        return String(decoding: out, as: UTF8.self)
    }
}
