/// Writing a date-time the way a pattern lays it out: the way back of `parse` (rendering canonical
/// records into regional formats).
extension DateTimePattern {
    /// `time` laid out as the pattern: fields zero-padded to their width, literals as written,
    /// optional parts written (`[.S]` gives `.0`, the Oracle style), a fraction as `0` (canonical
    /// times have whole seconds). A pattern without `ss` (or without `HH`) drops those fields:
    /// `parse(format(t))` equals `t` only when they are 0.
    public func format(_ time: LocalDateTime) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(pattern.utf8.count + 4)
        Self.write(elements, time, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether `format` keeps every field of `time` (seconds and minutes the pattern has no place
    /// for are 0).
    public func keepsEveryField(of time: LocalDateTime) -> Bool {
        parse(format(time)) == time
    }

    private static func write(_ elements: [Element], _ time: LocalDateTime, to out: inout [UInt8]) {
        for element in elements {
            switch element {
            case .field(let field):
                let value: Int
                switch field {
                case .year: value = time.year
                case .month: value = time.month
                case .day: value = time.day
                case .hour: value = time.hour
                case .minute: value = time.minute
                case .second: value = time.second
                }
                var digits = Array(String(value).utf8)
                while digits.count < field.width { digits.insert(UInt8(ascii: "0"), at: 0) }
                out.append(contentsOf: digits)
            case .literal(let bytes):
                out.append(contentsOf: bytes)
            case .fraction:
                out.append(UInt8(ascii: "0"))
            case .optional(let inner):
                write(inner, time, to: &out)
            }
        }
    }
}
