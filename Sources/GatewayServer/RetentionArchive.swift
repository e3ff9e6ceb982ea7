import CompressNIO
import Foundation
import GatewayModel
import GatewayQueue
import GatewaySigning
import NIOCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The retention purge's copy of what it deletes (issue 16 item 2): every acked message past
/// `retentionDays`, with its signed envelope, outcome, signed receipt and history, is appended to
/// `<folder>/YYYY-MM-DD.ndjson.gz` (the day of its ack, China Standard Time as every instant of the
/// canonical model) and fsynced, and `<folder>/manifest.json` (each file's committed length,
/// SHA-256 and record count) is replaced atomically, before the queue deletes anything.
///
/// **Format.** One JSON object per line (`archiveLine`), compressed as gzip members appended to
/// the day's file (one member per purge batch; `zcat` and every gzip reader read them as one
/// stream).
///
/// **Crashes.** The manifest is the commit point: bytes of a file beyond the length it records
/// (or a file it does not list) are an interrupted write, cut off by the next write, whose
/// records were never deleted from the queue. A crash after the manifest but before the queue's
/// deletion leaves the batch in the queue: the manifest keeps the keys of the last batch
/// (`lastBatch`) and the next write skips those messages, so the archive holds them once.
/// Committed bytes that no longer match the manifest stop every write (and so every purge):
/// evidence is never overwritten.
public final class RetentionArchive: Sendable {
    /// The archive folder (`<data>/archive` for `xgw serve`).
    public let folder: String
    private let writing = Mutex(())

    public static let manifestName = "manifest.json"
    public static let format = "xgw-retention-archive/1"

    public init(folder: String) {
        self.folder = folder
    }

    /// What one write did.
    public struct Written: Sendable, Hashable {
        /// Lines appended (messages not already archived by the last batch).
        public var records: Int
        /// Messages skipped: committed by the previous write whose deletion did not happen.
        public var alreadyArchived: Int
        /// The day files written to.
        public var files: [String]
    }

    /// A refusal to write: the purge stops and deletes nothing.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    /// Appends `batch` to the day files, fsyncs them and commits the manifest. Throws `Failure`
    /// (nothing committed) when the folder cannot be written or a committed file was altered.
    @discardableResult
    public func write(_ batch: [SettledMessage], at now: Date = Date()) throws -> Written {
        try writing.withLock { _ in try writeLocked(batch, at: now) }
    }

    private func writeLocked(_ batch: [SettledMessage], at now: Date) throws -> Written {
        try Self.makeFolder(folder)
        var manifest: Manifest
        if let loaded = try Manifest.load(folder: folder) {
            manifest = loaded
        } else {
            // An empty manifest before the first day file: day files without one are a lost
            // manifest, never an interrupted first write, and are not touched.
            guard try Self.dayFiles(in: folder).isEmpty else {
                throw Failure("\(folder) holds day files but no \(Self.manifestName): refusing to write (restore the manifest)")
            }
            manifest = Manifest()
            manifest.updatedAt = Timestamp.string(now)
            try manifest.save(folder: folder)
        }
        try Self.cutInterruptedWrites(in: folder, manifest: manifest)
        let committed = Set(manifest.lastBatch)
        var fresh: [String: [SettledMessage]] = [:]
        var skipped = 0
        for message in batch {
            if committed.contains(Self.key(message)) {
                skipped += 1
                continue
            }
            fresh[Self.day(message.ackedAt), default: []].append(message)
        }
        var files: [String] = []
        for (day, messages) in fresh.sorted(by: { $0.key < $1.key }) {
            let name = day + ".ndjson.gz"
            let entry = manifest.files.first { $0.name == name } ?? Manifest.File(name: name)
            var text: [UInt8] = []
            for message in messages {
                text += Self.line(message, archivedAt: now).canonicalBytes()
                text.append(0x0A)
            }
            var input = ByteBuffer(bytes: text)
            let member: ByteBuffer
            do {
                member = try input.compress(with: .gzip())
            } catch {
                throw Failure("cannot compress the batch for \(name): \(error)")
            }
            let path = folder + "/" + name
            let (size, sha256) = try Self.append(Array(member.readableBytesView), to: path, after: entry)
            var updated = entry
            updated.bytes = size
            updated.sha256 = sha256
            updated.records += messages.count
            manifest.files.removeAll { $0.name == name }
            manifest.files.append(updated)
            files.append(name)
        }
        manifest.files.sort { $0.name < $1.name }
        manifest.lastBatch = batch.map(Self.key)
        manifest.updatedAt = Timestamp.string(now)
        try Self.syncFolder(folder)
        try manifest.save(folder: folder)
        return Written(records: batch.count - skipped, alreadyArchived: skipped, files: files)
    }

    /// Cuts every listed file back to its committed length and removes day files the manifest does
    /// not list: what an interrupted write left (its messages are still in the queue).
    private static func cutInterruptedWrites(in folder: String, manifest: Manifest) throws {
        let listed = Dictionary(manifest.files.map { ($0.name, $0.bytes) }, uniquingKeysWith: { first, _ in first })
        for name in try dayFiles(in: folder) {
            let path = folder + "/" + name
            guard let bytes = listed[name] else {
                guard unlink(path) == 0 else { throw Failure("cannot remove the uncommitted \(path) (errno \(errno))") }
                continue
            }
            var status = stat()
            guard stat(path, &status) == 0, Int(status.st_size) > bytes else { continue }
            let fd = open(path, O_WRONLY | O_CLOEXEC)
            guard fd >= 0 else { throw Failure("cannot open \(path) (errno \(errno))") }
            defer { close(fd) }
            guard ftruncate(fd, off_t(bytes)) == 0, fsync(fd) == 0 else {
                throw Failure("cannot cut \(path) to its committed length (errno \(errno))")
            }
        }
    }

    static func dayFiles(in folder: String) throws -> [String] {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: folder).filter(Manifest.isDayFile).sorted()
        } catch {
            throw Failure("cannot list \(folder): \(error.localizedDescription)")
        }
    }

    /// The key of a message in `lastBatch`: message id, envelope id, destination.
    static func key(_ message: SettledMessage) -> String {
        "\(message.messageId.rawValue) \(message.envelopeId) \(message.destination)"
    }

    /// `YYYY-MM-DD` of `date` in China Standard Time (the canonical model's zone).
    static func day(_ date: Date) -> String { String(Timestamp.string(date).prefix(10)) }

    /// One archive line: the message's metadata, `envelope` and `receipt` as JSON with the SHA-256
    /// of their stored bytes (`envelopeSha256`, `receiptSha256`; bytes that are not canonical JSON
    /// are kept as `envelopeBase64` / `receiptBase64` instead), `history`, and `archivedAt`.
    public static func line(_ m: SettledMessage, archivedAt: Date) -> JSONValue {
        var o = JSONObject([
            "messageId": .number(JSONNumber(Int(m.messageId.rawValue))), "envelopeId": .string(m.envelopeId),
            "destination": .string(m.destination), "submitter": .string(m.submitter), "kind": .string(m.kind),
            "recordId": .string(m.recordId), "updatedAt": .string(m.updatedAt), "payloadDigest": .string(m.payloadDigest),
            "enqueuedAt": .string(Timestamp.string(m.enqueuedAt)), "ackedAt": .string(Timestamp.string(m.ackedAt)),
            "outcome": .string(m.outcome.name), "archivedAt": .string(Timestamp.string(archivedAt)),
        ])
        if let reason = m.outcome.reason { o["reason"] = .string(reason) }
        embed(m.envelope, as: "envelope", in: &o)
        if let receipt = m.receipt { embed(receipt, as: "receipt", in: &o) }
        o["history"] = .array(m.history.map { entry in
            var h = JSONObject([
                "event": .string(entry.event.rawValue), "at": .string(Timestamp.string(entry.at)),
                "deliveryCount": .number(JSONNumber(entry.deliveryCount)),
            ])
            if let detail = entry.detail { h["detail"] = .string(detail) }
            return .object(h)
        })
        return .object(o)
    }

    private static func embed(_ bytes: [UInt8], as name: String, in o: inout JSONObject) {
        o[name + "Sha256"] = .string(Digest.hex(.sha256, bytes))
        if let value = try? JSONParser.parse(bytes), value.canonicalBytes() == bytes {
            o[name] = value
        } else {
            o[name + "Base64"] = .string(Data(bytes).base64EncodedString())
        }
    }

    /// Appends `member` to `path` after the committed `entry.bytes` (cutting off an interrupted
    /// write), fsyncs, and returns the new size and SHA-256 of the whole file. Refuses when the
    /// committed bytes are missing or altered.
    private static func append(_ member: [UInt8], to path: String, after entry: Manifest.File) throws -> (Int, String) {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Failure("cannot open \(path) (errno \(errno))") }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw Failure("cannot stat \(path) (errno \(errno))") }
        guard Int(status.st_size) >= entry.bytes else {
            throw Failure("\(path) is shorter (\(status.st_size) bytes) than the manifest records (\(entry.bytes)): refusing to write")
        }
        if entry.bytes > 0 {
            guard try sha256(of: path, bytes: entry.bytes) == entry.sha256 else {
                throw Failure("\(path) no longer matches its SHA-256 in the manifest: refusing to write")
            }
        }
        guard ftruncate(fd, off_t(entry.bytes)) == 0, lseek(fd, off_t(entry.bytes), SEEK_SET) >= 0 else {
            throw Failure("cannot cut \(path) to its committed length (errno \(errno))")
        }
        try member.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                guard n > 0 else { throw Failure("cannot write \(path) (errno \(errno))") }
                offset += n
            }
        }
        guard fsync(fd) == 0 else { throw Failure("cannot fsync \(path) (errno \(errno))") }
        let size = entry.bytes + member.count
        return (size, try sha256(of: path, bytes: size))
    }

    /// The SHA-256 (hex) of the first `bytes` bytes of `path`.
    static func sha256(of path: String, bytes: Int) throws -> String {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw Failure("cannot read \(path): \(error.localizedDescription)")
        }
        guard data.count >= bytes else { throw Failure("\(path) is shorter than \(bytes) bytes") }
        return Digest.hex(.sha256, data.prefix(bytes))
    }

    static func makeFolder(_ folder: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw Failure("\(folder) is not a folder") }
            return
        }
        do {
            try FileManager.default.createDirectory(
                atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw Failure("cannot create \(folder): \(error.localizedDescription)")
        }
    }

    static func syncFolder(_ folder: String) throws {
        let fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure("cannot open \(folder) (errno \(errno))") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw Failure("cannot fsync \(folder) (errno \(errno))") }
    }
}
