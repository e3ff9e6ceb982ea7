import Foundation
import Synchronization

/// Buffered writes to standard output and standard error (one `write` per 64 KiB, not per line).
/// Any task may write: the buffer is behind a `Mutex`.
final class OutputStream: Sendable {
    private let fd: Int32
    private let buffer: Mutex<[UInt8]>

    init(fd: Int32) {
        self.fd = fd
        var bytes: [UInt8] = []
        bytes.reserveCapacity(1 << 16)
        buffer = Mutex(bytes)
    }

    func write(_ bytes: [UInt8]) { append { $0.append(contentsOf: bytes) } }

    func write(_ s: String) { append { $0.append(contentsOf: s.utf8) } }

    func line(_ s: String) {
        append {
            $0.append(contentsOf: s.utf8)
            $0.append(0x0A)
        }
    }

    func line(_ bytes: [UInt8]) {
        append {
            $0.append(contentsOf: bytes)
            $0.append(0x0A)
        }
    }

    func flush() { buffer.withLock { drain(&$0) } }

    /// Adds to the buffer and writes it out once it holds 64 KiB.
    private func append(_ add: (inout [UInt8]) -> Void) {
        buffer.withLock { bytes in
            add(&bytes)
            if bytes.count >= 1 << 16 { drain(&bytes) }
        }
    }

    private func drain(_ bytes: inout [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            offset += n
        }
        bytes.removeAll(keepingCapacity: true)
    }

    deinit { flush() }
}
