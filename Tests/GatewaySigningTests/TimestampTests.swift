import Foundation
import Testing
@testable import GatewaySigning

@Suite struct TimestampTests {
    @Test(arguments: [
        ("2023-07-11T08:31:02+08:00", 1_689_035_462.0),
        ("2023-07-11T00:31:02Z", 1_689_035_462.0),
        ("2023-07-11t00:31:02z", 1_689_035_462.0),
        ("2023-07-10T20:31:02-04:00", 1_689_035_462.0),
        ("2023-07-11T00:31:02.25Z", 1_689_035_462.25),
        ("2023-07-11T00:31:02.000000001999Z", 1_689_035_462.000000001),
        ("2024-02-29T00:00:00+08:00", 1_709_136_000.0),
        ("2000-02-29T00:00:00Z", 951_782_400.0),
        ("1969-12-31T23:59:59Z", -1.0),
    ])
    func readsRealRFC3339Times(_ text: String, _ seconds: TimeInterval) throws {
        let date = try #require(Timestamp.date(text))
        #expect(abs(date.timeIntervalSince1970 - seconds) < 1e-6)
    }

    /// Issue 17 row 6: impossible dates and times are refused, not rolled over to the next month.
    @Test(arguments: [
        "2023-02-30T00:00:00Z", "2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2023-04-31T00:00:00+08:00",
        "2023-13-01T00:00:00Z", "2023-00-10T00:00:00Z", "2023-07-00T00:00:00Z", "2023-07-11T24:00:00Z",
        "2023-07-11T23:60:00Z", "2023-07-11T23:59:60Z", "2023-07-11T08:31:02+24:00", "2023-07-11T08:31:02+08:60",
        // Not RFC 3339: no offset, no seconds, a space, an empty fraction, anything after the offset.
        "2023-07-11T08:31:02", "2023-07-11T08:31Z", "2023-07-11 08:31:02Z", "2023-07-11T08:31:02.Z",
        "2023-07-11T08:31:02Z ", "2023-07-11", "", "２０２３-07-11T08:31:02Z",
    ])
    func refusesImpossibleOrMalformedTimes(_ text: String) {
        #expect(Timestamp.date(text) == nil)
    }

    @Test func stringAndDateAreInverses() throws {
        var seconds: TimeInterval = -86_400 * 365
        while seconds < 4_102_444_800 {  // to 2100
            let text = Timestamp.string(Date(timeIntervalSince1970: seconds))
            #expect(try #require(Timestamp.date(text)).timeIntervalSince1970 == seconds)
            seconds += 7_777_777
        }
    }

    /// The random pool behind UUIDv7 is shared by every thread: concurrent ids are all different.
    @Test func concurrentIdsAreUnique() async {
        let ids = await withTaskGroup(of: [String].self) { group in
            for _ in 0..<8 {
                group.addTask { (0..<2000).map { _ in UUIDv7.generate() } }
            }
            var all: [String] = []
            for await batch in group { all += batch }
            return all
        }
        #expect(ids.count == 16_000)
        #expect(Set(ids).count == ids.count)
    }
}
