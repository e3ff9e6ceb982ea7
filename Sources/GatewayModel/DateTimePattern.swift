/// A fixed-layout date-time pattern such as `yyyy-MM-dd HH:mm:ss[.S]`, `yyyy-MM-dd HH:mm` or
/// `yyyyMMdd`, for the wall-clock times regional systems send (read as China Standard Time).
///
/// Tokens: `yyyy` (4-digit year), `MM`, `dd`, `HH` (00-23), `mm`, `ss` (2 digits each); `S` (one
/// or more fraction digits, truncated); `[...]` an optional part (`[.S]`: an optional fraction);
/// `'...'` quoted literal text. Any other non-letter character stands for itself. Missing time
/// fields default to 0 (a pattern without `ss` reads seconds as 00).
public struct DateTimePattern: Sendable, Hashable, CustomStringConvertible {
    enum Element: Sendable, Hashable {
        case field(Field)
        case literal([UInt8])
        case fraction
        case optional([Element])
    }

    enum Field: Sendable, Hashable {
        case year, month, day, hour, minute, second
        var width: Int { self == .year ? 4 : 2 }
    }

    /// Why a pattern text is not a pattern.
    public struct InvalidPattern: Error, Sendable, Hashable, CustomStringConvertible {
        public var pattern: String
        public var reason: String
        public var description: String { "invalid date-time pattern '\(pattern)': \(reason)" }
    }

    /// The pattern text as written.
    public let pattern: String
    let elements: [Element]
    /// Whether the pattern reads a time of day (`HH`); date-only patterns do not.
    public let hasTime: Bool

    public init(_ pattern: String) throws(InvalidPattern) {
        self.pattern = pattern
        var fields: Set<Field> = []
        var scalars = Array(pattern.unicodeScalars)[...]
        func fail(_ reason: String) -> InvalidPattern { InvalidPattern(pattern: pattern, reason: reason) }

        func parse(until terminator: Unicode.Scalar?) throws(InvalidPattern) -> [Element] {
            var elements: [Element] = []
            while let scalar = scalars.first {
                if scalar == terminator {
                    scalars.removeFirst()
                    return elements
                }
                let run = scalars.prefix(while: { $0 == scalar }).count
                let field: Field?
                switch (scalar, run) {
                case ("y", 4): field = .year
                case ("M", 2): field = .month
                case ("d", 2): field = .day
                case ("H", 2): field = .hour
                case ("m", 2): field = .minute
                case ("s", 2): field = .second
                default: field = nil
                }
                if let field {
                    guard fields.insert(field).inserted else { throw fail("a field appears twice") }
                    elements.append(.field(field))
                    scalars.removeFirst(run)
                } else if scalar == "S" {
                    elements.append(.fraction)
                    scalars.removeFirst(run)
                } else if scalar == "[" {
                    scalars.removeFirst()
                    let inner = try parse(until: "]")
                    guard !inner.isEmpty else { throw fail("empty optional part") }
                    elements.append(.optional(inner))
                } else if scalar == "]" {
                    throw fail("unbalanced ']'")
                } else if scalar == "'" {
                    scalars.removeFirst()
                    guard let end = scalars.firstIndex(of: "'") else { throw fail("unterminated quote") }
                    var text = ""
                    text.unicodeScalars.append(contentsOf: scalars[..<end])
                    if text.isEmpty { text = "'" }  // '' is a quote
                    elements.append(.literal(Array(text.utf8)))
                    scalars = scalars[(end + 1)...]
                } else if scalar.properties.isAlphabetic && scalar.isASCII {
                    throw fail("unknown field letter run")
                } else {
                    elements.append(.literal(Array(String(scalar).utf8)))
                    scalars.removeFirst()
                }
            }
            if terminator != nil { throw fail("unbalanced '['") }
            return elements
        }

        self.elements = try parse(until: nil)
        guard fields.isSuperset(of: [.year, .month, .day]) else { throw fail("needs yyyy, MM and dd") }
        if fields.contains(.minute) || fields.contains(.second) {
            guard fields.contains(.hour) else { throw fail("minutes or seconds without HH") }
        }
        if fields.contains(.second) {
            guard fields.contains(.minute) else { throw fail("seconds without mm") }
        }
        self.hasTime = fields.contains(.hour)
    }

    public var description: String { pattern }

    /// Reads a date-time laid out as the pattern, or nil when it does not fit or does not exist.
    public func parse(_ text: some StringProtocol) -> LocalDateTime? {
        var values = (year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0)
        let matched = DigitScanner.scan(text) { scanner in match(elements, &scanner, &values) && scanner.isAtEnd }
        guard matched else { return nil }
        return LocalDateTime(
            year: values.year, month: values.month, day: values.day,
            hour: values.hour, minute: values.minute, second: values.second)
    }

    /// Reads the date the pattern lays out (a time in the pattern must still be valid).
    public func parseDate(_ text: some StringProtocol) -> LocalDate? { parse(text)?.date }

    private func match(
        _ elements: [Element], _ scanner: inout DigitScanner,
        _ values: inout (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int)
    ) -> Bool {
        for element in elements {
            switch element {
            case .field(let field):
                guard let value = scanner.number(digits: field.width) else { return false }
                switch field {
                case .year: values.year = value
                case .month: values.month = value
                case .day: values.day = value
                case .hour: values.hour = value
                case .minute: values.minute = value
                case .second: values.second = value
                }
            case .literal(let bytes):
                guard scanner.take(literal: bytes) else { return false }
            case .fraction:
                guard scanner.skipDigits() > 0 else { return false }
            case .optional(let inner):
                let saved = (scanner.position, values)
                if !match(inner, &scanner, &values) {
                    (scanner.position, values) = saved
                }
            }
        }
        return true
    }
}
