/// Which canonical members hold personal data, and how a value of each is quoted in an error
/// message or a log line. The decision is by member (the JSON Pointer of the canonical member a
/// value is for), never by what the value looks like: a wrong code, date or amount is quoted as
/// sent, so that a clerk sees what to correct; a name, an ID number, a person's credit code or a
/// phone number is masked (`Masking`).
///
/// `canonical.schema.json` marks no member personal (it has no such keyword), so the list is here:
/// the driver's and the party's name and ID number, the party's credit code (a party may be a
/// person, e.g. a sole trader; an organisation's code is masked too, since the party type may be
/// the very value in error), the officers' names and certificate numbers, and any member named
/// `phone`, `mobile` or `telephone`. Plates are not on it (the schema does not mark them): an
/// invalid plate is quoted. A value whose member is not known (nil) is masked.
public enum PersonalData {
    public enum Kind: Sendable, Hashable {
        case name, idNumber, phone, other
    }

    /// The personal members, array indexes written `*`.
    public static let members: [String: Kind] = [
        "/driver/name": .name, "/driver/idNumber": .idNumber,
        "/party/name": .name, "/party/idNumber": .idNumber, "/party/creditCode": .other,
        "/officers/*/name": .name, "/officers/*/certificateNumber": .other,
    ]

    /// The kind of personal data `path` holds; nil when it holds none.
    public static func kind(of path: String) -> Kind? {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            !segment.isEmpty && segment.utf8.allSatisfy { (0x30...0x39).contains($0) } ? "*" : String(segment)
        }
        if let kind = members[segments.joined(separator: "/")] { return kind }
        if let last = segments.last, ["phone", "mobile", "telephone"].contains(last.lowercased()) { return .phone }
        return nil
    }

    /// `value` as an error message or log line may show it for the member at `path`: as is when
    /// the member holds no personal data, masked otherwise (and when `path` is nil).
    public static func quote(_ value: some StringProtocol, at path: String?) -> String {
        guard let path else { return Masking.value(value) }
        switch kind(of: path) {
        case nil: return String(value)
        case .name: return Masking.name(value)
        case .idNumber: return Masking.idNumber(value)
        case .phone: return Masking.phone(value)
        case .other: return Masking.value(value)
        }
    }
}
