import Foundation

/// Reading key, certificate and PKI files, and writing secrets with mode 0600.
public enum FileBytes {
    public static func read(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SigningError(.cannotOpen, "cannot open \(path)")
        }
        return [UInt8](data)
    }

    /// Writes a public file (certificate, CRL) atomically, mode 0644.
    public static func write(_ bytes: [UInt8], to path: String) throws {
        try write(bytes, to: path, mode: 0o644)
    }

    /// Writes a private key: created with mode 0600 (and forced to 0600 if it existed), atomically
    /// through a temporary file in the same directory.
    public static func writeSecret(_ bytes: [UInt8], to path: String) throws {
        try write(bytes, to: path, mode: 0o600)
    }

    private static func write(_ bytes: [UInt8], to path: String, mode: mode_t) throws {
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw SigningError(.io, "cannot create \(path): \(String(cString: strerror(errno)))") }
        var ok = fchmod(fd, mode) == 0
        var written = 0
        while ok && written < bytes.count {
            let n = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress! + written, $0.count - written) }
            if n <= 0 { ok = false } else { written += n }
        }
        ok = fsync(fd) == 0 && ok
        close(fd)
        guard ok, rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw SigningError(.io, "cannot write \(path): \(reason)")
        }
    }
}
