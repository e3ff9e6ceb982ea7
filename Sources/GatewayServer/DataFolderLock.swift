import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An exclusive `flock` on `<data>/xgw.lock`, held for the life of the process (never released
/// explicitly: the kernel drops it when the process exits, however it exits). One `xgw serve` owns
/// a data folder whose queue is SQLite; a second one on the same folder is refused. With a
/// PostgreSQL queue several processes share the data folder, and no lock is taken.
public final class DataFolderLock: Sendable {
    public let path: String
    private let descriptor: Int32

    /// Why the lock was not taken.
    public struct Refusal: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// Takes the lock when `configuration`'s queue is SQLite; nil for PostgreSQL (or a database
    /// URL `buildApplication` will refuse with its own message).
    public static func acquire(for configuration: ServerConfiguration) throws(Refusal) -> DataFolderLock? {
        guard case .sqlite = try? configuration.queueDatabase() else { return nil }
        return try DataFolderLock(folder: configuration.dataDirectory)
    }

    public init(folder: String) throws(Refusal) {
        do {
            try FileManager.default.createDirectory(
                atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw Refusal(description: "cannot create the data folder \(folder): \(error.localizedDescription)")
        }
        path = folder + "/xgw.lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw Refusal(description: "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let reason = errno
            var holder = ""
            if let text = try? String(contentsOfFile: path, encoding: .utf8),
                let pid = Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
            {
                holder = " (process \(pid))"
            }
            close(fd)
            if reason == EWOULDBLOCK {
                throw Refusal(
                    description: "the data folder \(folder) is in use by another xgw serve\(holder): "
                        + "one server owns a folder whose queue is SQLite; stop it, or give this one another data folder "
                        + "(data: in --config, or XGW_DATA), or share a PostgreSQL database (docs/postgres.md)")
            }
            throw Refusal(description: "cannot lock \(path): \(String(cString: strerror(reason)))")
        }
        descriptor = fd
        // Who holds it, for the refusal above.
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    /// Keeps the lock (and this object) alive until here.
    public func hold() { _ = descriptor }
}
