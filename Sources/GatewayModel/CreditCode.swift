/// Unified social credit codes, GB 32100: 18 characters from 0-9 and A-Z without I, O, Z, S, V;
/// characters 3-8 are the region code (digits); the 18th is a check character.
public enum CreditCode {
    /// Why a text is not a valid credit code; the description never quotes the code.
    public enum Problem: Sendable, Hashable, CustomStringConvertible {
        case length
        /// A character outside the alphabet, or a non-digit in the region code.
        case characters
        case checkCharacter

        public var description: String {
            switch self {
            case .length: "a unified social credit code has 18 characters"
            case .characters: "a unified social credit code uses 0-9 and A-Z without I, O, Z, S, V, with digits in places 3-8"
            case .checkCharacter: "wrong check character"
            }
        }
    }

    static let alphabet: [UInt8] = Array("0123456789ABCDEFGHJKLMNPQRTUWXY".utf8)
    static let weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]

    /// Value of each ASCII byte in the alphabet, -1 outside it.
    static let values: [Int8] = {
        var table = [Int8](repeating: -1, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = Int8(index) }
        return table
    }()

    /// The problem with `text`, or nil when it is a valid credit code.
    public static func problem(in text: some StringProtocol) -> Problem? {
        let utf8 = text.utf8
        guard utf8.count == 18 else { return .length }
        var sum = 0
        var check = 0
        for (index, byte) in utf8.enumerated() {
            let value = Int(values[Int(byte)])
            guard value >= 0 else { return .characters }
            if (2...7).contains(index), value >= 10 { return .characters }
            if index < 17 { sum += value * weights[index] } else { check = value }
        }
        guard check == (31 - sum % 31) % 31 else { return .checkCharacter }
        return nil
    }

    public static func isValid(_ text: some StringProtocol) -> Bool { problem(in: text) == nil }

    /// The check character for the first 17 characters of `text`; nil when they are not in the alphabet.
    public static func checkCharacter(forFirst17 text: some StringProtocol) -> Character? {
        var sum = 0
        var count = 0
        for byte in text.utf8.prefix(17) {
            let value = Int(values[Int(byte)])
            guard value >= 0 else { return nil }
            sum += value * weights[count]
            count += 1
        }
        guard count == 17 else { return nil }
        return Character(Unicode.Scalar(alphabet[(31 - sum % 31) % 31]))
    }
}
