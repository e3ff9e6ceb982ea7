/// A calendar date (proleptic Gregorian), years 1 to 9999: the canonical `YYYY-MM-DD`.
public struct LocalDate: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    /// A real calendar date, or nil (2023-02-30, 2023-02-29, month 13...).
    public init?(year: Int, month: Int, day: Int) {
        guard (1...9999).contains(year), (1...12).contains(month), day >= 1,
            day <= LocalDate.daysInMonth(year: year, month: month)
        else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses exactly `YYYY-MM-DD`.
    public init?(iso text: some StringProtocol) {
        guard let date = LocalDate.isoPattern.parseDate(text) else { return nil }
        self = date
    }

    private static let isoPattern = try! DateTimePattern("yyyy-MM-dd")

    public static func isLeapYear(_ year: Int) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    public static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 (negative before).
    public var daysSinceEpoch: Int {
        // H. Hinnant, "chrono-Compatible Low-Level Date Algorithms", days_from_civil.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The date `days` after 1970-01-01; nil outside years 1 to 9999.
    public init?(daysSinceEpoch days: Int) {
        // civil_from_days
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        self.init(year: year, month: month, day: day)
    }

    /// `YYYY-MM-DD`.
    public var description: String {
        var out: [UInt8] = []
        out.reserveCapacity(10)
        appendDigits(year, width: 4, to: &out)
        out.append(UInt8(ascii: "-"))
        appendDigits(month, width: 2, to: &out)
        out.append(UInt8(ascii: "-"))
        appendDigits(day, width: 2, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    public static func < (a: LocalDate, b: LocalDate) -> Bool {
        (a.year, a.month, a.day) < (b.year, b.month, b.day)
    }
}

/// A wall-clock time in China Standard Time (UTC+8, no daylight saving), seconds precision:
/// the canonical instant `YYYY-MM-DDTHH:MM:SS+08:00`.
public struct LocalDateTime: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let date: LocalDate
    public let hour: Int
    public let minute: Int
    public let second: Int

    /// The offset of China Standard Time from UTC, in seconds.
    public static let offsetSeconds = 8 * 3600

    public init?(date: LocalDate, hour: Int = 0, minute: Int = 0, second: Int = 0) {
        guard (0...23).contains(hour), (0...59).contains(minute), (0...59).contains(second) else { return nil }
        self.date = date
        self.hour = hour
        self.minute = minute
        self.second = second
    }

    public init?(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0) {
        guard let date = LocalDate(year: year, month: month, day: day) else { return nil }
        self.init(date: date, hour: hour, minute: minute, second: second)
    }

    public var year: Int { date.year }
    public var month: Int { date.month }
    public var day: Int { date.day }

    /// Seconds since 1970-01-01T00:00:00Z of this CST wall-clock time.
    public var epochSeconds: Int {
        date.daysSinceEpoch * 86400 + hour * 3600 + minute * 60 + second - LocalDateTime.offsetSeconds
    }

    /// The CST wall-clock time of an instant given in seconds since the epoch (UTC).
    public init?(epochSeconds: Int) {
        guard epochSeconds.magnitude < 400_000_000_000 else { return nil }  // far beyond year 9999
        let local = epochSeconds + LocalDateTime.offsetSeconds
        let days = local >= 0 ? local / 86400 : (local - 86399) / 86400
        let secondOfDay = local - days * 86400
        guard let date = LocalDate(daysSinceEpoch: days) else { return nil }
        self.init(date: date, hour: secondOfDay / 3600, minute: secondOfDay / 60 % 60, second: secondOfDay % 60)
    }

    /// The CST wall-clock time of an instant given in milliseconds since the epoch (UTC), truncated
    /// to the second (toward the past, also before 1970).
    public init?(epochMilliseconds: Int) {
        let seconds = epochMilliseconds >= 0 ? epochMilliseconds / 1000 : (epochMilliseconds - 999) / 1000
        self.init(epochSeconds: seconds)
    }

    /// Parses ISO 8601 / RFC 3339 `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM|±HHMM)` and converts it to
    /// CST (fraction truncated). Without an offset the time is taken as CST, unless `requireOffset`.
    public init?(iso8601 text: some StringProtocol, requireOffset: Bool = false) {
        guard let time = LocalDateTime.epochTime(iso8601: text, requireOffset: requireOffset) else { return nil }
        self.init(epochSeconds: time.seconds)
    }

    /// The instant named by ISO 8601 / RFC 3339 text `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM|±HHMM)`:
    /// whole seconds since 1970-01-01T00:00:00Z (toward the past) and the fraction's nanoseconds
    /// (digits past the ninth are dropped). Only real times are read: 2023-02-30, 2023-02-29, hour 24
    /// and second 60 are nil. Without an offset the time is taken as CST, unless `requireOffset`.
    public static func epochTime(
        iso8601 text: some StringProtocol, requireOffset: Bool = false
    ) -> (seconds: Int, nanoseconds: Int)? {
        DigitScanner.scan(text) { scanner in epochTime(&scanner, requireOffset: requireOffset) }
    }

    private static func epochTime(_ scanner: inout DigitScanner, requireOffset: Bool) -> (seconds: Int, nanoseconds: Int)? {
        guard let year = scanner.number(digits: 4), scanner.take(UInt8(ascii: "-")),
            let month = scanner.number(digits: 2), scanner.take(UInt8(ascii: "-")),
            let day = scanner.number(digits: 2), scanner.take(UInt8(ascii: "T")) || scanner.take(UInt8(ascii: "t")),
            let hour = scanner.number(digits: 2), scanner.take(UInt8(ascii: ":")),
            let minute = scanner.number(digits: 2), scanner.take(UInt8(ascii: ":")),
            let second = scanner.number(digits: 2)
        else { return nil }
        var nanoseconds = 0
        if scanner.take(UInt8(ascii: ".")) {
            let digits = scanner.skipDigits()
            guard digits > 0 else { return nil }
            for index in 0..<9 {
                let digit = index < digits ? Int(scanner.bytes[scanner.position - digits + index] - UInt8(ascii: "0")) : 0
                nanoseconds = nanoseconds * 10 + digit
            }
        }
        guard let local = LocalDateTime(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
        else { return nil }
        var offset = LocalDateTime.offsetSeconds
        if scanner.take(UInt8(ascii: "Z")) || scanner.take(UInt8(ascii: "z")) {
            offset = 0
        } else if let sign = scanner.peek(), sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
            scanner.advance()
            guard let hours = scanner.number(digits: 2) else { return nil }
            _ = scanner.take(UInt8(ascii: ":"))
            guard let minutes = scanner.number(digits: 2), hours <= 23, minutes <= 59 else { return nil }
            offset = (hours * 3600 + minutes * 60) * (sign == UInt8(ascii: "-") ? -1 : 1)
        } else if requireOffset {
            return nil
        }
        guard scanner.isAtEnd else { return nil }
        return (local.epochSeconds + LocalDateTime.offsetSeconds - offset, nanoseconds)
    }

    /// `YYYY-MM-DDTHH:MM:SS+08:00`.
    public var instantString: String {
        var out: [UInt8] = []
        out.reserveCapacity(25)
        appendDigits(date.year, width: 4, to: &out)
        out.append(UInt8(ascii: "-"))
        appendDigits(date.month, width: 2, to: &out)
        out.append(UInt8(ascii: "-"))
        appendDigits(date.day, width: 2, to: &out)
        out.append(UInt8(ascii: "T"))
        appendDigits(hour, width: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendDigits(minute, width: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendDigits(second, width: 2, to: &out)
        out.append(contentsOf: "+08:00".utf8)
        return String(decoding: out, as: UTF8.self)
    }

    /// `YYYY-MM-DD`.
    public var dateString: String { date.description }

    public var description: String { instantString }

    /// Reads a canonical instant (`YYYY-MM-DDTHH:MM:SS+08:00` exactly, as the schema's pattern).
    public init?(instant text: some StringProtocol) {
        guard let time = DigitScanner.scan(text, { scanner in LocalDateTime(instant: &scanner) }) else { return nil }
        self = time
    }

    private init?(instant scanner: inout DigitScanner) {
        guard let year = scanner.number(digits: 4), scanner.take(UInt8(ascii: "-")),
            let month = scanner.number(digits: 2), scanner.take(UInt8(ascii: "-")),
            let day = scanner.number(digits: 2), scanner.take(UInt8(ascii: "T")),
            let hour = scanner.number(digits: 2), scanner.take(UInt8(ascii: ":")),
            let minute = scanner.number(digits: 2), scanner.take(UInt8(ascii: ":")),
            let second = scanner.number(digits: 2), scanner.take(literal: "+08:00"), scanner.isAtEnd
        else { return nil }
        self.init(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
    }

    public static func < (a: LocalDateTime, b: LocalDateTime) -> Bool {
        (a.date, a.hour, a.minute, a.second) < (b.date, b.hour, b.minute, b.second)
    }
}

/// Appends `value` as decimal digits, zero-padded to `width`.
@inline(__always)
func appendDigits(_ value: Int, width: Int, to out: inout [UInt8]) {
    var divisor = 1
    for _ in 1..<width { divisor *= 10 }
    var rest = value
    while divisor > 0 {
        out.append(UInt8(ascii: "0") + UInt8(rest / divisor % 10))
        rest %= divisor
        divisor /= 10
    }
}

/// A cursor over UTF-8 that reads fixed-width ASCII numbers and literals (dates, times, codes).
struct DigitScanner {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0

    /// Runs `body` with a scanner over the UTF-8 of `text`, in place (a copy only for text without
    /// contiguous UTF-8): reading a date allocates nothing.
    static func scan<R>(_ text: some StringProtocol, _ body: (inout DigitScanner) -> R) -> R {
        if let result = text.utf8.withContiguousStorageIfAvailable({ bytes in
            var scanner = DigitScanner(bytes: bytes)
            return body(&scanner)
        }) {
            return result
        }
        return Array(text.utf8).withUnsafeBufferPointer { bytes in
            var scanner = DigitScanner(bytes: bytes)
            return body(&scanner)
        }
    }

    var isAtEnd: Bool { position == bytes.count }

    func peek() -> UInt8? { position < bytes.count ? bytes[position] : nil }

    mutating func advance() { position += 1 }

    /// Exactly `digits` ASCII digits.
    mutating func number(digits count: Int) -> Int? {
        guard position + count <= bytes.count else { return nil }
        var value = 0
        for i in 0..<count {
            let digit = bytes[position + i] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            value = value * 10 + Int(digit)
        }
        position += count
        return value
    }

    /// Skips digits; returns how many.
    mutating func skipDigits() -> Int {
        let start = position
        while position < bytes.count, bytes[position] &- UInt8(ascii: "0") < 10 { position += 1 }
        return position - start
    }

    mutating func take(_ byte: UInt8) -> Bool {
        guard position < bytes.count, bytes[position] == byte else { return false }
        position += 1
        return true
    }

    mutating func take(literal: some Collection<UInt8>) -> Bool {
        guard bytes.count - position >= literal.count,
            bytes[position..<position + literal.count].elementsEqual(literal)
        else { return false }
        position += literal.count
        return true
    }

    mutating func take(literal: String) -> Bool { take(literal: literal.utf8) }
}
