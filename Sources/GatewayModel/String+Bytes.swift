#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension String {
    /// Byte-for-byte equality of the UTF-8 (no Unicode canonical equivalence, unlike `==`), fast on
    /// native strings: JSON member names are equal only when their code points are.
    @inline(__always)
    func hasSameUTF8(as other: String) -> Bool {
        let count = utf8.count
        guard count == other.utf8.count else { return false }
        let result = utf8.withContiguousStorageIfAvailable { a in
            other.utf8.withContiguousStorageIfAvailable { b in
                count == 0 || memcmp(a.baseAddress!, b.baseAddress!, count) == 0
            }
        }
        if let result, let result { return result }
        return utf8.elementsEqual(other.utf8)
    }

    /// Runs `body` on the UTF-8 bytes without copying them (native strings), or on a copy for
    /// strings without contiguous UTF-8 (bridged ones).
    @inline(__always)
    func withUTF8Bytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        if let result = try utf8.withContiguousStorageIfAvailable(body) { return result }
        return try Array(utf8).withUnsafeBufferPointer(body)
    }
}
