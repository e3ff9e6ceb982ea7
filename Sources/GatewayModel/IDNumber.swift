/// Resident identity card numbers, GB 11643: six-digit region, birth date `yyyyMMdd` (19xx or 20xx),
/// three-digit sequence and a check character (0-9 or X) over ISO 7064 MOD 11-2.
public enum IDNumber {
    /// Why a text is not a valid ID number; the description never quotes the number.
    public enum Problem: Sendable, Hashable, CustomStringConvertible {
        /// 15 digits: the legacy form without a check character.
        case legacyFifteenDigits
        case length
        /// Not 17 digits followed by a digit or upper-case X.
        case characters
        /// The region code does not start with 1-8.
        case region
        case birthDate
        case checkCharacter

        public var description: String {
            switch self {
            case .legacyFifteenDigits: "15-digit legacy ID numbers are not accepted (no check character)"
            case .length: "an ID number has 18 characters"
            case .characters: "an ID number is 17 digits and a check character 0-9 or X"
            case .region: "the region code of an ID number starts with 1-8"
            case .birthDate: "the birth date in the ID number is not a real date in 19xx or 20xx"
            case .checkCharacter: "wrong check character"
            }
        }
    }

    static let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    static let checkCharacters: [UInt8] = Array("10X98765432".utf8)

    /// The problem with `text`, or nil when it is a valid ID number (no allocation).
    public static func problem(in text: some StringProtocol) -> Problem? {
        let utf8 = text.utf8
        if utf8.count == 15, utf8.allSatisfy({ $0 &- UInt8(ascii: "0") < 10 }) { return .legacyFifteenDigits }
        guard utf8.count == 18 else { return .length }
        var sum = 0
        var first = 0
        var year = 0
        var month = 0
        var day = 0
        var last: UInt8 = 0
        var index = 0
        for byte in utf8 {
            let digit = Int(byte &- UInt8(ascii: "0"))
            if index < 17 {
                guard digit < 10 else { return .characters }
                sum += digit * weights[index]
                switch index {
                case 0: first = digit
                case 6...9: year = year * 10 + digit
                case 10...11: month = month * 10 + digit
                case 12...13: day = day * 10 + digit
                default: break
                }
            } else {
                guard digit < 10 || byte == UInt8(ascii: "X") else { return .characters }
                last = byte
            }
            index += 1
        }
        guard (1...8).contains(first) else { return .region }
        guard (1900...2099).contains(year), LocalDate(year: year, month: month, day: day) != nil else {
            return .birthDate
        }
        guard last == checkCharacters[sum % 11] else { return .checkCharacter }
        return nil
    }

    public static func isValid(_ text: some StringProtocol) -> Bool { problem(in: text) == nil }

    /// The check character for the first 17 digits of `text` (for building test data); nil if they are not digits.
    public static func checkCharacter(forFirst17 text: some StringProtocol) -> Character? {
        let digits = text.utf8.prefix(17).map { Int($0 &- UInt8(ascii: "0")) }
        guard digits.count == 17, digits.allSatisfy({ $0 < 10 }) else { return nil }
        let sum = zip(digits, weights).reduce(0) { $0 + $1.0 * $1.1 }
        return Character(Unicode.Scalar(checkCharacters[sum % 11]))
    }
}
