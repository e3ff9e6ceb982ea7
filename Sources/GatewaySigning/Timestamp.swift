import COpenSSL
import Foundation
import GatewayModel
import Synchronization

/// Instants as the canonical model writes them: China Standard Time, seconds precision,
/// `2023-07-11T08:31:02+08:00`.
public enum Timestamp {
    /// Formats `date` in UTC+08:00 (no Foundation formatter: this runs once per envelope).
    public static func string(_ date: Date) -> String {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down)) + 8 * 3600
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        guard (0...9999).contains(year) else { return "\(year)-01-01T00:00:00+08:00" }
        return String(unsafeUninitializedCapacity: 25) { out in
            func put(_ value: Int, _ digits: Int, at position: Int) {
                var value = value
                for offset in stride(from: digits - 1, through: 0, by: -1) {
                    out[position + offset] = UInt8(ascii: "0") + UInt8(value % 10)
                    value /= 10
                }
            }
            put(year, 4, at: 0)
            put(month, 2, at: 5)
            put(day, 2, at: 8)
            put(secondOfDay / 3600, 2, at: 11)
            put(secondOfDay / 60 % 60, 2, at: 14)
            put(secondOfDay % 60, 2, at: 17)
            out[4] = UInt8(ascii: "-")
            out[7] = UInt8(ascii: "-")
            out[10] = UInt8(ascii: "T")
            out[13] = UInt8(ascii: ":")
            out[16] = UInt8(ascii: ":")
            out[19] = UInt8(ascii: "+")
            out[22] = UInt8(ascii: ":")
            out[20] = UInt8(ascii: "0")
            out[21] = UInt8(ascii: "8")
            out[23] = UInt8(ascii: "0")
            out[24] = UInt8(ascii: "0")
            return 25
        }
    }

    /// Parses an RFC 3339 time, `YYYY-MM-DDTHH:MM:SS[.fraction]` followed by `Z` or `±HH:MM`
    /// (an offset is required), into the instant it names; the fraction is kept (to the nanosecond).
    ///
    /// Only real times are read: `2023-02-30`, `2023-02-29`, month 13, hour 24 and second 60 are
    /// refused (nil), where Foundation's `ISO8601DateFormatter` would roll them over. Use it for every
    /// time a client sends (`--at`, a query's `since`): it makes no formatter and no allocation
    /// beyond the text's bytes. `string(_:)` is its inverse for whole seconds.
    public static func date(_ text: some StringProtocol) -> Date? {
        guard let time = LocalDateTime.epochTime(iso8601: text, requireOffset: true) else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(time.seconds) + TimeInterval(time.nanoseconds) / 1_000_000_000)
    }
}

/// UUID version 7 (RFC 9562): 48-bit Unix milliseconds, version, 74 random bits from OpenSSL's
/// DRBG (drawn 4 KiB at a time: one `RAND_bytes` call per envelope would cost more than the rest
/// of the id).
public enum UUIDv7 {
    public static func generate(at date: Date = Date()) -> String {
        let milliseconds = UInt64(max(0, date.timeIntervalSince1970 * 1000))
        var bytes: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &bytes) { raw in
            let b = raw.bindMemory(to: UInt8.self)
            RandomPool.shared.fill(UnsafeMutableBufferPointer(rebasing: b[6..<16]))
            for index in 0..<6 { b[index] = UInt8(truncatingIfNeeded: milliseconds >> (40 - 8 * UInt64(index))) }
            b[6] = 0x70 | (b[6] & 0x0f)
            b[8] = 0x80 | (b[8] & 0x3f)
        }
        let hexDigits = Self.hexDigits.utf8Start
        return withUnsafeBytes(of: &bytes) { raw in
            String(unsafeUninitializedCapacity: 36) { out in
                var position = 0
                for index in 0..<16 {
                    if index == 4 || index == 6 || index == 8 || index == 10 {
                        out[position] = UInt8(ascii: "-")
                        position += 1
                    }
                    out[position] = hexDigits[Int(raw[index] >> 4)]
                    out[position + 1] = hexDigits[Int(raw[index] & 0x0f)]
                    position += 2
                }
                return position
            }
        }
    }

    /// A literal, not an array: a static array costs a `swift_once` check and a bounds check per digit.
    private static let hexDigits: StaticString = "0123456789abcdef"
}

/// Random bytes from OpenSSL's DRBG, fetched in 4 KiB blocks and handed out under a lock.
final class RandomPool: Sendable {
    static let shared = RandomPool()

    private struct Pool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        var position = 4096
    }

    private let pool = Mutex(Pool())

    func fill(_ out: UnsafeMutableBufferPointer<UInt8>) {
        pool.withLock { pool in
            if pool.position + out.count > pool.buffer.count {
                if RAND_bytes(&pool.buffer, Int32(pool.buffer.count)) != 1 {
                    var generator = SystemRandomNumberGenerator()
                    for index in pool.buffer.indices { pool.buffer[index] = generator.next() }
                }
                pool.position = 0
            }
            for index in out.indices { out[index] = pool.buffer[pool.position + index] }
            // Used bytes are overwritten so that they never stay in memory longer than needed.
            for index in pool.position..<(pool.position + out.count) { pool.buffer[index] = 0 }
            pool.position += out.count
        }
    }
}
