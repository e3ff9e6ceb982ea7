/// An append-only byte buffer that RFC 8785 (JCS) text is written into: one allocation that grows
/// by doubling, written through a pointer (no per-byte uniqueness or capacity checks of `[UInt8]`),
/// freed when the writer goes away.
///
/// The sealing path writes a payload's canonical bytes here, digests them in place and copies
/// them out once (`bytes()`); `JSONValue.canonicalBytes()` and `writeCanonical(to:)` use it too.
public struct CanonicalWriter: ~Copyable {
    @usableFromInline var base: UnsafeMutablePointer<UInt8>
    @usableFromInline var count: Int
    @usableFromInline var capacity: Int

    /// A writer with room for `capacity` bytes before it first grows.
    public init(capacity: Int = 1024) {
        self.capacity = Swift.max(capacity, 64)
        base = .allocate(capacity: self.capacity)
        count = 0
    }

    deinit { base.deallocate() }

    /// The number of bytes written.
    public var byteCount: Int { count }

    /// Runs `body` on the bytes written so far (valid only during the call).
    public func withBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: base, count: count))
    }

    /// A copy of the bytes written.
    public func bytes() -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            if count > 0 { buffer.baseAddress!.initialize(from: base, count: count) }
            initialized = count
        }
    }

    /// Makes room for `extra` more bytes.
    @inline(__always)
    mutating func reserve(_ extra: Int) {
        if capacity &- count < extra { grow(extra) }
    }

    @inline(never)
    mutating func grow(_ extra: Int) {
        let newCapacity = Swift.max(capacity * 2, count + extra)
        let larger = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        larger.initialize(from: base, count: count)
        base.deallocate()
        base = larger
        capacity = newCapacity
    }

    /// Appends one byte.
    @inline(__always)
    public mutating func append(_ byte: UInt8) {
        reserve(1)
        base[count] = byte
        count &+= 1
    }

    /// Appends `bytes` as they are.
    @inline(__always)
    public mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        reserve(bytes.count)
        (base + count).initialize(from: source, count: bytes.count)
        count &+= bytes.count
    }

    /// Appends `bytes` as they are.
    public mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { append($0) }
    }

    /// Appends the UTF-8 of a literal as it is (for JSON punctuation and member names known to
    /// need no escaping).
    @inline(__always)
    public mutating func append(_ text: StaticString) {
        append(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Appends `string` as a JCS string: quoted, with only `"`, `\` and control characters escaped.
    public mutating func appendCanonical(string: String) {
        string.withUTF8Bytes { appendQuoted($0) }
    }

    /// Appends the canonical bytes of `value`.
    public mutating func appendCanonical(_ value: JSONValue) {
        switch value {
        case .null: append("null")
        case .bool(let flag): flag ? append("true") : append("false")
        case .number(let number): appendCanonical(number: number)
        case .string(let string): appendCanonical(string: string)
        case .array(let elements):
            append(UInt8(ascii: "["))
            elements.withUnsafeBufferPointer { elements in
                for index in elements.indices {
                    if index > 0 { append(UInt8(ascii: ",")) }
                    appendCanonical(elements[index])
                }
            }
            append(UInt8(ascii: "]"))
        case .object(let object): appendCanonical(members: object.members)
        }
    }

    /// Appends a number in its ECMAScript form; text that already is that form is copied as it stands.
    public mutating func appendCanonical(number: JSONNumber) {
        let copied = number.text.withUTF8Bytes { text -> Bool in
            guard JSONNumber.isCanonicalPlainDecimal(text) else { return false }
            append(text)
            return true
        }
        if !copied { number.writeConverted(to: &self) }
    }

    // MARK: Objects

    /// Appends an object with its members in RFC 8785 order. Member indices are insertion-sorted
    /// on the stack by a 64-bit key made of the first eight bytes of the name (in UTF-16 order,
    /// `sortPrefix`); names are compared in full only when those are equal. Records have a dozen
    /// or so members, so this costs a load per name and integer comparisons, no string calls.
    /// A name of at most eight ASCII bytes with nothing to escape (most of them) is then written
    /// from its prefix, without going back to the string.
    mutating func appendCanonical(members: [JSONObject.Member]) {
        let count = members.count
        guard count > 0 else {
            append("{}")
            return
        }
        append(UInt8(ascii: "{"))
        members.withUnsafeBufferPointer { members in
            withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 3 * count) { scratch in
                let prefixes = scratch.baseAddress!
                let order = prefixes + count  // member indices, stored as UInt64
                let lengths = order + count
                for position in 0..<count {
                    let (prefix, length) = members[position].key.withUTF8Bytes { (Self.sortPrefix($0), $0.count) }
                    var slot = position
                    while slot > 0 {
                        let other = Int(truncatingIfNeeded: order[slot - 1])
                        let otherPrefix = prefixes[other]
                        let precedes = prefix != otherPrefix
                            ? prefix < otherPrefix
                            : JSONValue.utf16Precedes(members[position].key, members[other].key)
                        guard precedes else { break }
                        order[slot] = order[slot - 1]
                        slot -= 1
                    }
                    order[slot] = UInt64(truncatingIfNeeded: position)
                    prefixes[position] = prefix
                    lengths[position] = UInt64(truncatingIfNeeded: length)
                }
                for position in 0..<count {
                    if position > 0 { append(UInt8(ascii: ",")) }
                    let index = Int(truncatingIfNeeded: order[position])
                    let length = lengths[index]
                    let prefix = prefixes[index]
                    // A short ASCII name with nothing to escape is written from its prefix.
                    let padding: UInt64 = length >= 8 ? 0 : 0x4141_4141_4141_4141 & ((1 &<< (64 &- 8 &* length)) &- 1)
                    if length <= 8, prefix & 0x8080_8080_8080_8080 == 0, !Self.needsEscaping(prefix | padding) {
                        reserve(12)
                        base[self.count] = UInt8(ascii: "\"")
                        UnsafeMutableRawPointer(base + (self.count &+ 1)).storeBytes(of: prefix.bigEndian, as: UInt64.self)
                        let end = self.count &+ 1 &+ Int(truncatingIfNeeded: length)
                        base[end] = UInt8(ascii: "\"")
                        base[end &+ 1] = UInt8(ascii: ":")
                        self.count = end &+ 2
                    } else {
                        appendCanonical(string: members[index].key)
                        append(UInt8(ascii: ":"))
                    }
                    appendCanonical(members[index].value)
                }
            }
        }
        append(UInt8(ascii: "}"))
    }

    /// The first eight bytes of a member name as a big-endian integer (zero-padded), with the lead
    /// bytes EE and EF (U+E000...U+FFFF) raised above F0-F4 (U+10000 and up): then integer order is
    /// UTF-16 code unit order (RFC 8785 section 3.2.3) wherever two prefixes differ. Zero padding
    /// keeps a proper prefix first; equal prefixes (a name with a U+0000 among them too) are
    /// compared in full.
    @inline(__always)
    static func sortPrefix(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        let count = bytes.count
        guard let start = bytes.baseAddress, count > 0 else { return 0 }
        let raw = UnsafeRawPointer(start)
        let prefix: UInt64
        if count >= 8 {
            prefix = UInt64(bigEndian: raw.loadUnaligned(as: UInt64.self))
        } else if count >= 4 {
            // Two overlapping four-byte loads: bytes 0-3, and bytes count-4...count-1 shifted into place.
            let head = UInt64(UInt32(bigEndian: raw.loadUnaligned(as: UInt32.self))) << 32
            let tail = UInt64(UInt32(bigEndian: raw.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self)))
            prefix = head | tail << UInt64(64 - 8 * count)
        } else {
            prefix = UInt64(start[0]) << 56 | UInt64(start[count >> 1]) << UInt64(56 - 8 * (count >> 1))
                | UInt64(start[count - 1]) << UInt64(64 - 8 * count)
        }
        let ascii = prefix & 0x8080_8080_8080_8080 == 0
        if ascii { return prefix }
        var adjusted: UInt64 = 0
        for shift in stride(from: 56, through: 0, by: -8) {
            var byte = UInt8(truncatingIfNeeded: prefix >> UInt64(shift))
            if byte == 0xEE || byte == 0xEF { byte &+= 0x08 }
            adjusted |= UInt64(byte) << UInt64(shift)
        }
        return adjusted
    }

    // MARK: Strings

    /// Whether any of the eight bytes of `word` needs escaping: below 0x20, `"` (0x22) or `\` (0x5C).
    /// (The classic "has a byte less than n" and "has a zero byte" tests; exact as to whether any
    /// byte matches, which is all that is asked.)
    @inline(__always)
    static func needsEscaping(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let high: UInt64 = 0x8080_8080_8080_8080
        let quotes = word ^ (ones &* 0x22)
        let backslashes = word ^ (ones &* 0x5C)
        let below = (word &- ones &* 0x20) & ~word
        let quote = (quotes &- ones) & ~quotes
        let backslash = (backslashes &- ones) & ~backslashes
        return (below | quote | backslash) & high != 0
    }

    private static let hexDigits: StaticString = "0123456789abcdef"

    /// Whether any byte of `bytes` needs escaping, tested eight bytes at a time: whole words,
    /// then the last eight bytes (overlapping ones already tested); shorter texts as two
    /// overlapping four-byte loads, or their first, middle and last byte padded with `A`.
    @inline(__always)
    static func needsEscaping(_ bytes: UnsafeRawPointer, count: Int) -> Bool {
        if count >= 8 {
            var offset = 0
            while offset &+ 8 <= count {
                if needsEscaping(bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) { return true }
                offset &+= 8
            }
            return offset < count && needsEscaping(bytes.loadUnaligned(fromByteOffset: count &- 8, as: UInt64.self))
        }
        let word: UInt64
        if count >= 4 {
            word = UInt64(bytes.loadUnaligned(as: UInt32.self))
                | UInt64(bytes.loadUnaligned(fromByteOffset: count &- 4, as: UInt32.self)) << 32
        } else if count > 0 {
            word = 0x4141_4141_4100_0000 | UInt64(bytes.load(as: UInt8.self))
                | UInt64(bytes.load(fromByteOffset: count >> 1, as: UInt8.self)) << 8
                | UInt64(bytes.load(fromByteOffset: count &- 1, as: UInt8.self)) << 16
        } else {
            return false
        }
        return needsEscaping(word)
    }

    /// Appends `bytes` quoted, with RFC 8785 escaping. Text that needs none (nearly all of it) is
    /// copied whole; otherwise runs between escapes are.
    mutating func appendQuoted(_ bytes: UnsafeBufferPointer<UInt8>) {
        let length = bytes.count
        reserve(length &+ 2)
        base[count] = UInt8(ascii: "\"")
        guard let source = bytes.baseAddress, length > 0 else {
            base[count &+ 1] = UInt8(ascii: "\"")
            count &+= 2
            return
        }
        if !Self.needsEscaping(UnsafeRawPointer(source), count: length) {
            (base + (count &+ 1)).initialize(from: source, count: length)
            base[count &+ 1 &+ length] = UInt8(ascii: "\"")
            count &+= length &+ 2
            return
        }
        count &+= 1
        appendEscaped(source, length)
        append(UInt8(ascii: "\""))
    }

    /// The escaping loop for text that has something to escape.
    @inline(never)
    private mutating func appendEscaped(_ source: UnsafePointer<UInt8>, _ length: Int) {
        var runStart = 0
        for index in 0..<length {
            let byte = source[index]
            guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
            append(UnsafeBufferPointer(start: source + runStart, count: index - runStart))
            appendEscape(byte)
            runStart = index + 1
        }
        append(UnsafeBufferPointer(start: source + runStart, count: length - runStart))
    }

    @inline(never)
    private mutating func appendEscape(_ byte: UInt8) {
        reserve(6)
        base[count] = UInt8(ascii: "\\")
        count &+= 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): append(byte)
        case 0x08: append(UInt8(ascii: "b"))
        case 0x0C: append(UInt8(ascii: "f"))
        case 0x0A: append(UInt8(ascii: "n"))
        case 0x0D: append(UInt8(ascii: "r"))
        case 0x09: append(UInt8(ascii: "t"))
        default:
            append("u00")
            append(Self.hexDigits.utf8Start[Int(byte >> 4)])
            append(Self.hexDigits.utf8Start[Int(byte & 0xF)])
        }
    }
}
