/// Administrative division codes, GB/T 2260: a 6-digit county code starting 1-8, optionally
/// followed by the 3-digit township and 3-digit village codes (9 or 12 digits).
public enum DivisionCode {
    public static func isValid(_ text: some StringProtocol) -> Bool {
        let utf8 = text.utf8
        guard utf8.count == 6 || utf8.count == 9 || utf8.count == 12, let first = utf8.first,
            first >= UInt8(ascii: "1"), first <= UInt8(ascii: "8")
        else { return false }
        return utf8.allSatisfy { $0 &- UInt8(ascii: "0") < 10 }
    }

    public static let problemDescription = "a division code is 6, 9 or 12 digits starting with 1-8"
}
