/// The regular expressions of `canonical.schema.json`, as byte loops (no Regex on the hot path).
enum TextPattern {
    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b &- UInt8(ascii: "0") < 10 }
    @inline(__always) static func isLower(_ b: UInt8) -> Bool { b &- UInt8(ascii: "a") < 26 }
    @inline(__always) static func isUpper(_ b: UInt8) -> Bool { b &- UInt8(ascii: "A") < 26 }

    /// `^[0-9]{n,m}$`
    static func digits(_ count: ClosedRange<Int>) -> @Sendable (String) -> Bool {
        { count.contains($0.utf8.count) && $0.utf8.allSatisfy(isDigit) }
    }

    /// `^[0-9A-Z]{n,m}$`
    static func upperAlphanumeric(_ count: ClosedRange<Int>) -> @Sendable (String) -> Bool {
        { count.contains($0.utf8.count) && $0.utf8.allSatisfy { isDigit($0) || isUpper($0) } }
    }

    /// `^[0-9a-f]{n}$`
    static func lowerHex(_ count: Int) -> @Sendable (String) -> Bool {
        { $0.utf8.count == count && $0.utf8.allSatisfy { isDigit($0) || $0 &- UInt8(ascii: "a") < 6 } }
    }

    /// `^[a-z][a-z0-9-]{rest}$`
    static func slug(rest: ClosedRange<Int>) -> @Sendable (String) -> Bool {
        { isSlug($0.utf8[...], rest: rest) }
    }

    static func isSlug(_ bytes: Substring.UTF8View, rest: ClosedRange<Int>) -> Bool {
        guard let first = bytes.first, isLower(first), rest.contains(bytes.count - 1) else { return false }
        return bytes.dropFirst().allSatisfy { isLower($0) || isDigit($0) || $0 == UInt8(ascii: "-") }
    }

    /// `^[a-z][a-z0-9-]{1,47}/[0-9]+$`
    static let mappingFormat: @Sendable (String) -> Bool = { text in
        let utf8 = text.utf8
        guard let slash = utf8.lastIndex(of: UInt8(ascii: "/")) else { return false }
        let version = utf8[utf8.index(after: slash)...]
        return isSlug(Substring(text).utf8[..<slash], rest: 1...47) && !version.isEmpty && version.allSatisfy(isDigit)
    }

    /// `^[a-z][a-z0-9-]{1,31}:[0-9A-Za-z._-]{1,64}$`
    static let recordId: @Sendable (String) -> Bool = { text in
        let utf8 = Substring(text).utf8
        guard let colon = utf8.firstIndex(of: UInt8(ascii: ":")) else { return false }
        let id = utf8[utf8.index(after: colon)...]
        return isSlug(utf8[..<colon], rest: 1...31) && (1...64).contains(id.count)
            && id.allSatisfy {
                isDigit($0) || isLower($0) || isUpper($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_")
                    || $0 == UInt8(ascii: "-")
            }
    }

    /// `^[a-z]+/[a-z0-9.+-]+$`
    static let mediaType: @Sendable (String) -> Bool = { text in
        let utf8 = Substring(text).utf8
        guard let slash = utf8.firstIndex(of: UInt8(ascii: "/")) else { return false }
        let type = utf8[..<slash]
        let subtype = utf8[utf8.index(after: slash)...]
        return !type.isEmpty && type.allSatisfy(isLower) && !subtype.isEmpty
            && subtype.allSatisfy {
                isLower($0) || isDigit($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-")
            }
    }
}
