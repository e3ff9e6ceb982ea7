/// Masks personal data before it goes into a log line or an error message (which members are
/// personal: `PersonalData`).
public enum Masking {
    /// `511723199001011233` → `511723********1233`: region and last four kept.
    public static func idNumber(_ text: some StringProtocol) -> String {
        let characters = Array(text)
        guard characters.count >= 12 else { return value(text) }
        return String(characters.prefix(6)) + String(repeating: "*", count: characters.count - 10)
            + String(characters.suffix(4))
    }

    /// `张三` → `张*`, `欧阳娜娜` → `欧***`: the first character kept.
    public static func name(_ text: some StringProtocol) -> String {
        let characters = Array(text)
        guard let first = characters.first else { return "" }
        guard characters.count > 1 else { return "*" }
        return String(first) + String(repeating: "*", count: characters.count - 1)
    }

    /// `13812345678` → `138****5678`: the first three and last four kept (of eleven or more
    /// characters; a shorter number is masked as any other value).
    public static func phone(_ text: some StringProtocol) -> String {
        let characters = Array(text)
        guard characters.count >= 11 else { return value(text) }
        return String(characters.prefix(3)) + String(repeating: "*", count: characters.count - 7) + String(characters.suffix(4))
    }

    /// Anything else that might be personal: a quarter of the characters kept at each end
    /// (at least the first one, none of a value of up to two characters).
    public static func value(_ text: some StringProtocol) -> String {
        let characters = Array(text)
        let count = characters.count
        if count <= 2 { return String(repeating: "*", count: count) }
        let keep = max(1, count / 4)
        let tail = count >= 8 ? keep : 0
        return String(characters.prefix(keep)) + String(repeating: "*", count: count - keep - tail)
            + String(characters.suffix(tail))
    }
}
