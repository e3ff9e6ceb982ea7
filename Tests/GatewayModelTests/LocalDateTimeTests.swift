import Testing
@testable import GatewayModel

@Suite struct LocalDateTimeTests {
    @Test func calendarValidation() {
        #expect(LocalDate(year: 2024, month: 2, day: 29) != nil)
        #expect(LocalDate(year: 2023, month: 2, day: 29) == nil)
        #expect(LocalDate(year: 2000, month: 2, day: 29) != nil)
        #expect(LocalDate(year: 1900, month: 2, day: 29) == nil)
        #expect(LocalDate(year: 2023, month: 2, day: 30) == nil)
        #expect(LocalDate(year: 2023, month: 4, day: 31) == nil)
        #expect(LocalDate(year: 2023, month: 12, day: 31) != nil)
        #expect(LocalDate(year: 2023, month: 13, day: 1) == nil)
        #expect(LocalDate(year: 2023, month: 0, day: 1) == nil)
        #expect(LocalDate(year: 2023, month: 1, day: 0) == nil)
        #expect(LocalDate(year: 0, month: 1, day: 1) == nil)
        #expect(LocalDateTime(year: 2023, month: 7, day: 11, hour: 24) == nil)
        #expect(LocalDateTime(year: 2023, month: 7, day: 11, hour: 23, minute: 60) == nil)
        #expect(LocalDateTime(year: 2023, month: 7, day: 11, hour: 23, minute: 59, second: 60) == nil)
    }

    @Test func formatsCanonically() throws {
        let time = try #require(LocalDateTime(year: 2023, month: 7, day: 1, hour: 8, minute: 5, second: 9))
        #expect(time.instantString == "2023-07-01T08:05:09+08:00")
        #expect(time.dateString == "2023-07-01")
        #expect(LocalDate(year: 33, month: 1, day: 2)?.description == "0033-01-02")
        #expect(LocalDateTime(instant: "2023-07-01T08:05:09+08:00") == time)
        #expect(LocalDateTime(instant: "2023-07-01T08:05:09Z") == nil)
        #expect(LocalDateTime(instant: "2023-02-30T08:05:09+08:00") == nil)
    }

    @Test func epochDaysRoundTrip() throws {
        #expect(LocalDate(year: 1970, month: 1, day: 1)?.daysSinceEpoch == 0)
        #expect(LocalDate(year: 2000, month: 3, day: 1)?.daysSinceEpoch == 11017)
        #expect(LocalDate(year: 1969, month: 12, day: 31)?.daysSinceEpoch == -1)
        for days in stride(from: -719_000, through: 2_900_000, by: 997) {
            let date = try #require(LocalDate(daysSinceEpoch: days))
            #expect(date.daysSinceEpoch == days)
        }
    }

    @Test func fromEpochMilliseconds() throws {
        // formats.md: 1689035400000 is 2023-07-11 08:30 in Chongqing.
        #expect(LocalDateTime(epochMilliseconds: 1_689_035_400_000)?.instantString == "2023-07-11T08:30:00+08:00")
        #expect(LocalDateTime(epochMilliseconds: 1_689_036_000_999)?.instantString == "2023-07-11T08:40:00+08:00")
        #expect(LocalDateTime(epochMilliseconds: 0)?.instantString == "1970-01-01T08:00:00+08:00")
        #expect(LocalDateTime(epochMilliseconds: -1)?.instantString == "1970-01-01T07:59:59+08:00")
        #expect(LocalDateTime(epochMilliseconds: -28_800_001)?.instantString == "1969-12-31T23:59:59+08:00")
        // Day change: 16:00Z is midnight in CST.
        #expect(LocalDateTime(epochMilliseconds: 1_689_091_200_000)?.instantString == "2023-07-12T00:00:00+08:00")
        #expect(LocalDateTime(epochMilliseconds: Int.max) == nil)
        let time = try #require(LocalDateTime(epochMilliseconds: 1_689_035_400_000))
        #expect(time.epochSeconds == 1_689_035_400)
    }

    @Test(arguments: [
        ("2023-07-11T09:30:00+08:00", "2023-07-11T09:30:00+08:00"),
        ("2023-07-11T01:30:00Z", "2023-07-11T09:30:00+08:00"),
        ("2023-07-11T01:30:00+00:00", "2023-07-11T09:30:00+08:00"),
        ("2023-07-11T01:30:00.999Z", "2023-07-11T09:30:00+08:00"),
        ("2023-07-11T20:30:00-04:00", "2023-07-12T08:30:00+08:00"),
        ("2023-07-11T18:00:00+0530", "2023-07-11T20:30:00+08:00"),
        ("2023-12-31T16:00:00Z", "2024-01-01T00:00:00+08:00"),
        ("2024-02-28T16:00:00Z", "2024-02-29T00:00:00+08:00"),
        ("2023-07-11T09:30:00", "2023-07-11T09:30:00+08:00"),
    ])
    func fromISO8601(text: String, expected: String) {
        #expect(LocalDateTime(iso8601: text)?.instantString == expected)
    }

    @Test(arguments: [
        "2023-02-30T09:30:00+08:00", "2023-07-11 09:30:00+08:00x", "2023-07-11T9:30:00Z", "2023-07-11T09:30Z",
        "2023-07-11T09:30:00+8:00", "2023-07-11T09:30:00.Z", "2023-07-11T24:00:00Z", "2023-07-11T09:30:00+24:00",
        "2023-07-11", "",
    ])
    func rejectsBadISO8601(text: String) {
        #expect(LocalDateTime(iso8601: text) == nil)
    }

    @Test func offsetCanBeRequired() {
        #expect(LocalDateTime(iso8601: "2023-07-11T09:30:00", requireOffset: true) == nil)
        #expect(LocalDateTime(iso8601: "2023-07-11T09:30:00Z", requireOffset: true) != nil)
    }

    /// The instant itself, with the fraction to the nanosecond (what a `since` cursor needs).
    @Test func epochTimeKeepsTheFraction() throws {
        let time = try #require(LocalDateTime.epochTime(iso8601: "2023-07-11T01:30:00.1234567891Z"))
        #expect(time.seconds == 1_689_039_000 && time.nanoseconds == 123_456_789)
        for (text, seconds, nanoseconds) in [
            ("2023-07-11T09:30:00.5+08:00", 1_689_039_000, 500_000_000), ("2023-07-11T09:30:00", 1_689_039_000, 0),
            ("1970-01-01T00:00:00Z", 0, 0), ("1969-12-31T23:59:59.75Z", -1, 750_000_000),
        ] {
            let time = try #require(LocalDateTime.epochTime(iso8601: text))
            #expect(time.seconds == seconds && time.nanoseconds == nanoseconds, "\(text)")
        }
        #expect(LocalDateTime.epochTime(iso8601: "2023-07-11T09:30:00", requireOffset: true) == nil)
        #expect(LocalDateTime.epochTime(iso8601: "2023-02-29T09:30:00Z") == nil)
    }

    @Test func oracleStylePattern() throws {
        let pattern = try DateTimePattern("yyyy-MM-dd HH:mm:ss[.S]")
        #expect(pattern.hasTime)
        #expect(pattern.parse("2023-07-11 08:30:00.0")?.instantString == "2023-07-11T08:30:00+08:00")
        #expect(pattern.parse("2023-07-11 08:30:59.987654")?.instantString == "2023-07-11T08:30:59+08:00")
        #expect(pattern.parse("2023-07-11 08:30:00")?.instantString == "2023-07-11T08:30:00+08:00")
        #expect(pattern.parse("2023-07-11 08:30:00.") == nil)
        #expect(pattern.parse("2023-07-11 08:30") == nil)
        #expect(pattern.parse("2023-02-29 08:30:00") == nil)
        #expect(pattern.parse("2023-07-11 24:00:00") == nil)
        #expect(pattern.parse("2023-07-11T08:30:00") == nil)
        #expect(pattern.parse("2023-7-11 08:30:00") == nil)
        #expect(pattern.parse(" 2023-07-11 08:30:00") == nil)
    }

    @Test func patternWithoutSecondsAndDatePatterns() throws {
        let minutes = try DateTimePattern("yyyy-MM-dd HH:mm")
        #expect(minutes.parse("2023-07-11 10:05")?.instantString == "2023-07-11T10:05:00+08:00")
        #expect(minutes.parse("2023-07-11 10:05:00") == nil)
        let compact = try DateTimePattern("yyyyMMdd")
        #expect(!compact.hasTime)
        #expect(compact.parseDate("20230711")?.description == "2023-07-11")
        #expect(compact.parse("20230711")?.instantString == "2023-07-11T00:00:00+08:00")
        #expect(compact.parseDate("20230230") == nil)
        #expect(compact.parseDate("2023071") == nil)
        #expect(LocalDate(iso: "2024-02-29")?.description == "2024-02-29")
        #expect(LocalDate(iso: "2023-02-29") == nil)
        let quoted = try DateTimePattern("yyyy年MM月dd日 'T'HH时")
        #expect(quoted.parse("2023年07月11日 T09时")?.instantString == "2023-07-11T09:00:00+08:00")
        let slashes = try DateTimePattern("dd/MM/yyyy")
        #expect(slashes.parseDate("11/07/2023")?.description == "2023-07-11")
    }

    @Test(arguments: ["yyyy-MM", "yy-MM-dd", "yyyy-MM-dd HH:mm:ss[.S", "yyyy-MM-dd]", "yyyy-MM-dd x", "yyyy-MM-dd'T",
                      "yyyy-MM-dd ss", "yyyy-MM-dd-yyyy", "yyyy-MM-dd[]"])
    func rejectsBadPatterns(pattern: String) {
        #expect(throws: DateTimePattern.InvalidPattern.self) { try DateTimePattern(pattern) }
    }
}
