import Foundation
import GatewayModel
import GatewaySigning

/// How the console writes what it shows: dates in China Standard Time, payloads with personal
/// data masked as in logs, forms decoded.
enum ConsoleFormat {
    /// China Standard Time (UTC+8, no daylight saving).
    static let chinaTime = TimeZone(secondsFromGMT: 8 * 3600)!

    /// `2026-12-03 21:54:26` in China Standard Time (the pages say "(UTC+8)" beside it).
    static func date(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = chinaTime
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func two(_ n: Int?) -> String { n.map { $0 < 10 ? "0\($0)" : "\($0)" } ?? "00" }
        return "\(c.year ?? 0)-\(two(c.month))-\(two(c.day)) \(two(c.hour)):\(two(c.minute)):\(two(c.second))"
    }

    /// An RFC 3339 text as a China Standard Time date; the text as given when it is not one.
    static func date(_ text: String?) -> String {
        guard let text else { return "" }
        return Timestamp.date(text).map(date) ?? text
    }

    /// A `datetime-local` value (`2026-12-03T21:54`, seconds optional) read as China Standard Time.
    static func localDate(_ text: String?) -> Date? {
        guard let text, !text.isEmpty else { return nil }
        let parts = text.split(separator: "T")
        guard parts.count == 2 else { return nil }
        let day = parts[0].split(separator: "-").compactMap { Int($0) }
        let time = parts[1].split(separator: ":").compactMap { Int($0) }
        guard day.count == 3, time.count >= 2, time.count <= 3 else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = chinaTime
        let components = DateComponents(
            year: day[0], month: day[1], day: day[2], hour: time[0], minute: time[1], second: time.count == 3 ? time[2] : 0)
        guard components.isValidDate(in: calendar) else { return nil }
        return calendar.date(from: components)
    }

    /// `payload` with every personal member's value masked (`PersonalData`, as the logs quote them),
    /// pretty-printed for a `<pre>`.
    static func maskedJSON(_ payload: JSONValue) -> String {
        var out = ""
        write(masked(payload, path: ""), indent: "", into: &out)
        return out
    }

    static func masked(_ value: JSONValue, path: String) -> JSONValue {
        switch value {
        case .object(let object):
            return .object(JSONObject(object.members.map { member in
                JSONObject.Member(key: member.key, value: masked(member.value, path: path + "/" + member.key))
            }))
        case .array(let items):
            return .array(items.enumerated().map { masked($0.element, path: path + "/\($0.offset)") })
        case .string(let text):
            return PersonalData.kind(of: path) == nil ? value : .string(PersonalData.quote(text, at: path))
        default:
            return PersonalData.kind(of: path) == nil ? value : .string(PersonalData.quote(String(decoding: value.canonicalBytes(), as: UTF8.self), at: path))
        }
    }

    private static func write(_ value: JSONValue, indent: String, into out: inout String) {
        let inner = indent + "  "
        switch value {
        case .object(let object) where !object.members.isEmpty:
            out += "{\n"
            for (n, member) in object.members.enumerated() {
                out += inner + String(decoding: JSONValue.string(member.key).canonicalBytes(), as: UTF8.self) + ": "
                write(member.value, indent: inner, into: &out)
                out += n == object.members.count - 1 ? "\n" : ",\n"
            }
            out += indent + "}"
        case .array(let items) where !items.isEmpty:
            out += "[\n"
            for (n, item) in items.enumerated() {
                out += inner
                write(item, indent: inner, into: &out)
                out += n == items.count - 1 ? "\n" : ",\n"
            }
            out += indent + "]"
        default:
            out += String(decoding: value.canonicalBytes(), as: UTF8.self)
        }
    }

    /// An `application/x-www-form-urlencoded` body or query (`+` is a space, `%XX` a byte).
    static func form(_ bytes: [UInt8]) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in bytes.split(separator: UInt8(ascii: "&")) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            let name = decode(Array(parts[0]))
            if fields[name] == nil { fields[name] = parts.count == 2 ? decode(Array(parts[1])) : "" }
        }
        return fields
    }

    private static func decode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "+") {
                out.append(0x20)
            } else if b == UInt8(ascii: "%"), i + 2 < bytes.count, let hi = hexValue(bytes[i + 1]), let lo = hexValue(bytes[i + 2]) {
                out.append(hi << 4 | lo)
                i += 2
            } else {
                out.append(b)
            }
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x41...0x46: c - 0x41 + 10
        case 0x61...0x66: c - 0x61 + 10
        default: nil
        }
    }

    /// The value of cookie `name` in a `Cookie` header.
    static func cookie(_ name: String, in header: String?) -> String? {
        guard let header else { return nil }
        for part in header.split(separator: ";") {
            let pair = part.split(separator: "=", maxSplits: 1)
            if pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces) == name {
                return pair[1].trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }

    /// A URL query component: everything but unreserved characters percent-encoded.
    static func queryValue(_ text: String) -> String {
        var out = ""
        for b in text.utf8 {
            if (0x30...0x39).contains(b) || (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b) || [0x2D, 0x2E, 0x5F, 0x7E].contains(b) {
                out.append(Character(Unicode.Scalar(b)))
            } else {
                out += "%" + (b < 16 ? "0" : "") + String(b, radix: 16, uppercase: true)
            }
        }
        return out
    }
}
