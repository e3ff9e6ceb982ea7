import Foundation
import GatewayModel
import GatewayXML

/// A value on its way from the source document to a canonical member.
enum Value: Sendable, Equatable {
    case absent
    case text(String)
    /// A JSON number (its decimal text): numeric transforms of JSON mappings require one.
    case number(String)
    case texts([String])
    case json(JSONValue)

    var display: String {
        switch self {
        case .absent: "(absent)"
        case .text(let s): s
        case .number(let n): n
        case .texts(let list): "[" + list.joined(separator: ", ") + "]"
        case .json(let v): v.canonicalString
        }
    }
}

/// Why a transform refused a value: an error code of formats.md, the refused value and the
/// problem. The value is quoted as `PersonalData` allows for the member it was for (a code, date
/// or amount as sent, personal data masked): `message(at:)`.
struct TransformFailure: Error, Sendable {
    var code: RecordError.Code
    /// The refused value, quoted at the start of the message; nil when the message quotes none.
    var value: String?
    /// What is wrong with it (the whole message when no value is quoted).
    var problem: String

    init(code: RecordError.Code, message: String) {
        self.code = code
        self.problem = message
    }

    init(code: RecordError.Code, value: String, problem: String) {
        self.code = code
        self.value = value
        self.problem = problem
    }

    /// The message for the canonical member at `path`: the value as is unless the member holds
    /// personal data; masked when the member is not known (nil).
    func message(at path: String?) -> String {
        value.map { "'\(PersonalData.quote($0, at: path))' \(problem)" } ?? problem
    }

    /// The message with the value masked whatever its member.
    var message: String { message(at: nil) }
}

/// One step of a member's `apply:` list. Each is a reusable engine feature; mappings combine them.
enum Transform: Sendable {
    enum InstantSource: Sendable {
        case pattern(DateTimePattern)
        case epochMilliseconds
        case iso8601
    }

    enum CaptureFallback: String, Sendable {
        /// Keep the whole value when the pattern does not match.
        case keep
        /// The member is absent when the pattern does not match.
        case absent
        /// The value is rejected (`invalid-value`) when the pattern does not match.
        case reject
    }

    /// Unicode NFKC, upper case (formats.md's identifier rule).
    case identifier
    /// Identifier rule plus removal of plate separators (`·` `•` `-` spaces).
    case plate
    case prefix(String)
    case instant(InstantSource, pattern: String)
    case date(DateTimePattern, pattern: String)
    /// A decimal amount in a unit of 10^-exponent fen... expressed as the power of ten that turns
    /// the unit into fen: 2 for 元, 6 for 万元. Listed suffixes (`元`) are removed first.
    case money(powerOfTen: Int, unit: String, suffixes: [String])
    case integer
    case number
    case lookup(table: String, byName: Bool, entries: [String: String])
    case enumeration([String: String])
    case replace(pattern: String, regex: NSRegularExpression, template: String)
    case capture(pattern: String, regex: NSRegularExpression, group: Int, otherwise: CaptureFallback)
    case htmlParagraphs
    case join(String)
    /// The value must be the id of a participant of `seeds/` of one of `kinds`, or one of `allow`.
    case participant(kinds: [Participant.Kind], ids: Set<String>, allow: Set<String>)

    var name: String {
        switch self {
        case .identifier: "identifier"
        case .plate: "plate"
        case .prefix(let p): "prefix(\(p))"
        case .instant(_, let p): "instant(\(p))"
        case .date(_, let p): "date(\(p))"
        case .money(_, let unit, _): "money(\(unit))"
        case .integer: "integer"
        case .number: "number"
        case .lookup(let t, let byName, _): "lookup(\(t) by \(byName ? "name" : "code"))"
        case .enumeration: "enum"
        case .replace(let p, _, let t): "replace(\(p) → \(t))"
        case .capture(let p, _, let g, _): "capture(\(p), group \(g))"
        case .htmlParagraphs: "html-paragraphs"
        case .join(let s): "join(\(s.debugDescription))"
        case .participant: "participant"
        }
    }

    func apply(_ value: Value) throws(TransformFailure) -> Value {
        switch value {
        case .absent:
            return .absent
        case .texts(let list):
            switch self {
            case .join(let separator): return list.isEmpty ? .absent : .text(list.joined(separator: separator))
            default:
                var out: [String] = []
                out.reserveCapacity(list.count)
                for item in list {
                    switch try apply(.text(item)) {
                    case .text(let s), .number(let s): out.append(s)
                    case .texts(let more): out.append(contentsOf: more)
                    case .absent: break
                    case .json(let v): out.append(v.stringValue ?? v.canonicalString)
                    }
                }
                return out.isEmpty ? .absent : .texts(out)
            }
        case .json:
            return value
        case .text(let text):
            return try applyText(text, isNumber: false)
        case .number(let text):
            return try applyText(text, isNumber: true)
        }
    }

    private func applyText(_ text: String, isNumber: Bool) throws(TransformFailure) -> Value {
        switch self {
        case .identifier:
            return .text(Text.identifier(text))
        case .plate:
            return .text(Text.plate(text))
        case .prefix(let p):
            return .text(p + text)
        case .instant(let source, let pattern):
            let dateTime: LocalDateTime?
            switch source {
            case .pattern(let p): dateTime = p.parse(text)
            case .epochMilliseconds:
                dateTime = Int(text).flatMap { LocalDateTime(epochMilliseconds: $0) }
            case .iso8601: dateTime = LocalDateTime(iso8601: text, requireOffset: true)
            }
            guard let dateTime else {
                throw TransformFailure(code: .invalidDatetime, value: text, problem: "is not a valid time of the form \(pattern)")
            }
            return .json(.string(dateTime.instantString))
        case .date(let p, let pattern):
            guard let dateTime = p.parse(text) else {
                throw TransformFailure(code: .invalidDatetime, value: text, problem: "is not a valid date of the form \(pattern)")
            }
            return .json(.string(dateTime.dateString))
        case .money(let power, let unit, let suffixes):
            var t = text
            for s in suffixes where t.hasSuffix(s) {
                t = Text.trim(String(t.dropLast(s.count)))
                break
            }
            guard let decimal = Text.scaledDecimal(t, byPowerOfTen: power), !decimal.isNegative else {
                throw TransformFailure(code: .invalidAmount, value: text, problem: "is not a non-negative decimal amount in \(unit)")
            }
            guard let fen = decimal.scaled else {
                throw TransformFailure(code: .invalidAmount, value: text, problem: "\(unit) is finer than one fen or too large")
            }
            return .json(.number(JSONNumber(fen)))
        case .integer:
            guard let i = Int(text) else {
                throw TransformFailure(code: .invalidValue, value: text, problem: "is not a whole number")
            }
            return .json(.number(JSONNumber(i)))
        case .number:
            guard Text.isFiniteDecimal(text) else {
                throw TransformFailure(code: .invalidValue, value: text, problem: "is not a decimal number")
            }
            return .json(.number(JSONNumber(uncheckedText: text)))
        case .lookup(let table, let byName, let entries):
            guard let v = entries[text] else {
                throw TransformFailure(
                    code: .unknownCode,
                    value: text, problem: "is not a \(byName ? "name" : "code") of code table \(table)")
            }
            return .text(v)
        case .enumeration(let map):
            guard let v = map[text] else {
                throw TransformFailure(
                    code: .unknownCode,
                    value: text, problem: "is not one of \(map.keys.sorted().joined(separator: ", "))")
            }
            return .text(v)
        case .replace(_, let regex, let template):
            let range = NSRange(text.startIndex..., in: text)
            return .text(regex.stringByReplacingMatches(in: text, range: range, withTemplate: template))
        case .capture(_, let regex, let group, let otherwise):
            let range = NSRange(text.startIndex..., in: text)
            if let m = regex.firstMatch(in: text, range: range), group < m.numberOfRanges {
                let r = m.range(at: group)
                guard r.location != NSNotFound, let sr = Range(r, in: text) else { return .absent }
                let captured = Text.trim(String(text[sr]))
                return captured.isEmpty ? .absent : .text(captured)
            }
            switch otherwise {
            case .keep: return .text(text)
            case .absent: return .absent
            case .reject:
                throw TransformFailure(code: .invalidValue, message: "the value does not have the expected form")
            }
        case .htmlParagraphs:
            let paragraphs = HTMLText.paragraphs(fromFragment: text)
            return paragraphs.isEmpty ? .absent : .texts(paragraphs)
        case .join:
            return .text(text)
        case .participant(let kinds, let ids, let allow):
            guard allow.contains(text) || ids.contains(text) else {
                let what = kinds.map(\.rawValue).joined(separator: " or ")
                throw TransformFailure(code: "unknown-member", message: "'\(text)' is not a known \(what) of seeds/participants.yaml")
            }
            return .text(text)
        }
    }
}

/// The text rules of formats.md.
enum Text {
    @inline(__always)
    private static func isASCIIWhitespace(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) }

    /// Leading and trailing white space removed, including U+3000 and U+00A0.
    static func trim(_ s: String) -> String {
        let utf8 = s.utf8
        // Fast path: neither the first nor the last character can be white space, told from their
        // first UTF-8 byte (the common case, Chinese text included: its lead bytes are E4-E9).
        if let f = utf8.first, !mayStartWhitespace(f), let l = lastScalarLead(utf8), !mayStartWhitespace(l) {
            return s
        }
        let scalars = s.unicodeScalars
        guard let first = scalars.firstIndex(where: { !isWhitespace($0) }) else { return "" }
        let last = scalars.lastIndex(where: { !isWhitespace($0) })!
        if first == scalars.startIndex && last == scalars.index(before: scalars.endIndex) { return s }
        return String(scalars[first...last])
    }

    /// Unicode's White_Space property (what `Unicode.Scalar.Properties.isWhitespace` answers),
    /// as its 25 code points: no property table look-up per value.
    @inline(__always)
    static func isWhitespace(_ u: Unicode.Scalar) -> Bool {
        switch u.value {
        case 0x09...0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: true
        default: false
        }
    }

    /// Whether a character whose UTF-8 form starts with `b` may be white space: ASCII white
    /// space, or the lead bytes of the others (C2: U+0085, U+00A0; E1: U+1680; E2: U+2000-U+205F;
    /// E3: U+3000).
    @inline(__always)
    private static func mayStartWhitespace(_ b: UInt8) -> Bool {
        b < 0x80 ? isASCIIWhitespace(b) : (b == 0xC2 || b == 0xE1 || b == 0xE2 || b == 0xE3)
    }

    /// The first byte of the last character.
    @inline(__always)
    private static func lastScalarLead(_ utf8: String.UTF8View) -> UInt8? {
        var i = utf8.endIndex
        while i > utf8.startIndex {
            i = utf8.index(before: i)
            let b = utf8[i]
            if b & 0xC0 != 0x80 { return b }
        }
        return nil
    }

    /// Whether NFKC leaves the text as it is: ASCII, CJK unified ideographs and the few other
    /// characters identifiers carry that have no compatibility decomposition.
    private static func isNFKCStable(_ s: String) -> Bool {
        for u in s.unicodeScalars {
            let v = u.value
            if v < 0x80 || (v >= 0x4E00 && v <= 0x9FFF) || v == 0x00B7 || v == 0x2022 { continue }
            return false
        }
        return true
    }

    /// What one pass over an identifier's UTF-8 found (`identifier`'s fast path).
    private enum IdentifierForm {
        /// NFKC-stable without lower-case ASCII: the text is its own identifier.
        case unchanged
        /// NFKC-stable with lower-case ASCII letters to upper-case.
        case asciiLower
        /// Anything else: through NFKC and `uppercased()`.
        case general
    }

    /// `isNFKCStable` and the search for lower-case ASCII in one pass over the UTF-8 bytes (a
    /// native string is valid UTF-8, so a lead byte is followed by its continuation bytes).
    private static func identifierForm(_ s: String) -> IdentifierForm {
        let form = s.utf8.withContiguousStorageIfAvailable { bytes -> IdentifierForm in
            var lower = false
            var i = 0
            let n = bytes.count
            while i < n {
                let b = bytes[i]
                if b < 0x80 {
                    if b &- 0x61 < 26 { lower = true }
                    i += 1
                } else if b & 0xF0 == 0xE0, i + 2 < n {
                    let v = UInt32(b & 0x0F) << 12 | UInt32(bytes[i + 1] & 0x3F) << 6 | UInt32(bytes[i + 2] & 0x3F)
                    guard (v >= 0x4E00 && v <= 0x9FFF) || v == 0x2022 else { return .general }
                    i += 3
                } else if b == 0xC2, i + 1 < n, bytes[i + 1] == 0xB7 {
                    i += 2
                } else {
                    return .general
                }
            }
            return lower ? .asciiLower : .unchanged
        }
        if let form { return form }
        guard isNFKCStable(s) else { return .general }
        return s.utf8.contains(where: { $0 >= 0x61 && $0 <= 0x7A }) ? .asciiLower : .unchanged
    }

    /// NFKC, upper case.
    static func identifier(_ s: String) -> String {
        switch identifierForm(s) {
        case .unchanged: return s
        case .general: return s.precomposedStringWithCompatibilityMapping.uppercased()
        case .asciiLower:
            // Only ASCII letters can be lower case here: upper-case them byte by byte.
            let count = s.utf8.count
            return String(unsafeUninitializedCapacity: count) { out in
                var i = 0
                for b in s.utf8 {
                    out[i] = b &- 0x61 < 26 ? b - 0x20 : b
                    i += 1
                }
                return count
            }
        }
    }

    static let plateSeparators: Set<Unicode.Scalar> = ["\u{00B7}", "\u{2022}", "\u{30FB}", "\u{2027}", "\u{FF65}", "-", " ", "\u{3000}", "\u{00A0}", "\t"]

    /// Membership in `plateSeparators` without hashing each scalar of every plate.
    @inline(__always)
    static func isPlateSeparator(_ u: Unicode.Scalar) -> Bool {
        switch u.value {
        case 0x09, 0x20, 0x2D, 0xA0, 0xB7, 0x2022, 0x2027, 0x3000, 0x30FB, 0xFF65: true
        default: false
        }
    }

    static func plate(_ s: String) -> String {
        let id = identifier(s)
        guard id.unicodeScalars.contains(where: isPlateSeparator) else { return id }
        var scalars = String.UnicodeScalarView()
        for u in id.unicodeScalars where !isPlateSeparator(u) { scalars.append(u) }
        return String(scalars)
    }
}
