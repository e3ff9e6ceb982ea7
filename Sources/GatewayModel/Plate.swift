/// Normalized vehicle plates as the canonical schema writes them: province abbreviation,
/// issuing-office letter, then 5 characters (6 for new-energy plates), e.g. `川S12345`, `渝FD12345`.
///
/// Implements `^[京津沪...琼][A-HJ-NP-Z][A-HJ-NP-Z0-9]{4,5}[A-HJ-NP-Z0-9挂学警港澳领试超]$` without Regex.
public enum Plate {
    static let provinces: Set<Unicode.Scalar> = Set("京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼".unicodeScalars)
    static let suffixes: Set<Unicode.Scalar> = Set("挂学警港澳领试超".unicodeScalars)

    /// A-Z without I and O.
    @inline(__always)
    static func isLetter(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value >= 0x41 && scalar.value <= 0x5A && scalar != "I" && scalar != "O"
    }

    @inline(__always)
    static func isLetterOrDigit(_ scalar: Unicode.Scalar) -> Bool {
        isLetter(scalar) || (scalar.value >= 0x30 && scalar.value <= 0x39)
    }

    /// The provinces' code points, for a search without hashing.
    static let provinceValues: [UInt32] = provinces.map(\.value).sorted()

    /// Whether `text` is a normalized plate (no allocation, no hashing but for a suffix character).
    public static func isValid(_ text: some StringProtocol) -> Bool {
        var iterator = text.unicodeScalars.makeIterator()
        guard let province = iterator.next(), province.value >= 0x4E00, provinceValues.contains(province.value),
            let office = iterator.next(), isLetter(office)
        else { return false }
        // The rest: 5 or 6 letters or digits, the last one also a suffix character.
        var count = 0
        var last: Unicode.Scalar?
        while let scalar = iterator.next() {
            if let last, !isLetterOrDigit(last) { return false }
            count += 1
            if count > 6 { return false }
            last = scalar
        }
        guard count >= 5, let last else { return false }
        return isLetterOrDigit(last) || suffixes.contains(last)
    }

    public static let problemDescription = "a plate is a province abbreviation, an office letter and 5 or 6 letters or digits (no I or O)"
}
