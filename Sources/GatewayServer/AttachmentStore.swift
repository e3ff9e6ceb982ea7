import Foundation
import GatewayModel
import GatewaySigning
import NIOCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The bytes of bulletin attachments, stored by content hash (SHA-256) under one folder, and who
/// may read them (issue 16 item 10). A record carries an attachment's name, media type, size and
/// sha256 only; the bytes are uploaded on their own (`PUT /v1/attachments/{sha256}`), before or
/// after the bulletin, and each member of the audience of a bulletin that names them downloads
/// them (`GET`).
///
/// Layout under `directory` (created 0700, files 0600):
/// - `objects/<sha256>`: the bytes; `objects/<sha256>.type`: the media type they were uploaded
///   with (written before the bytes are renamed into place, so stored bytes always have one);
/// - `grants/<sha256>/<participant>`: an empty file per participant that may read them (the issuer
///   and the audience of every accepted bulletin naming the hash). One file per grant, created and
///   never rewritten, so concurrent submissions (or several processes on one shared folder) never
///   lose each other's grants;
/// - `tmp/`: uploads being received (removed when older than a day at start).
///
/// Everything is written to a temporary file, fsynced and renamed, and the folder is fsynced: an
/// answered upload or submission survives a crash. Bytes are immutable once stored: a repeated
/// upload of the same hash (verified all the same) keeps the first bytes and media type.
public final class AttachmentStore: Sendable {
    /// Stored bytes: their hash, length and the media type they were uploaded with.
    public struct Stored: Sendable, Equatable {
        public var sha256: String
        public var size: Int
        public var mediaType: String
    }

    /// Why an upload was refused or failed. Messages name hashes, sizes and media types only.
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        /// The path's hash is not 64 lower-case hexadecimal digits.
        case malformedHash(String)
        /// The bytes hash to `actual`, not to the path's `expected`.
        case hashMismatch(expected: String, actual: String)
        /// More than `limit` bytes.
        case tooLarge(limit: Int)
        /// No Content-Type, or one this gateway does not store.
        case unsupportedMediaType(String?)
        /// The folder cannot be written (disk full, permissions): the server's fault.
        case storage(String)

        public var description: String {
            switch self {
            case .malformedHash:
                "the attachment's sha256 must be 64 lower-case hexadecimal digits"
            case .hashMismatch(let expected, let actual):
                "the uploaded bytes hash to sha256 \(actual), not to \(expected) named in the path; nothing was stored"
            case .tooLarge(let limit):
                "an attachment may be at most \(limit) bytes (attachments.maxBytes)"
            case .unsupportedMediaType(nil):
                "an upload needs a Content-Type, one of \(AttachmentStore.mediaTypes.joined(separator: ", "))"
            case .unsupportedMediaType(let type?):
                "\(type) is not an attachment type this gateway stores; allowed: \(AttachmentStore.mediaTypes.joined(separator: ", "))"
            case .storage(let what):
                "the attachment store cannot be written (\(what)); retry later"
            }
        }
    }

    /// The media types an attachment may have (by essence, parameters aside): documents a public
    /// office exchanges — PDF and OFD (GB/T 33190, the Chinese fixed-layout format), images,
    /// Office and OpenDocument files, plain text and CSV. Nothing a browser runs (HTML, SVG,
    /// JavaScript), no archive that could hide anything else, no executable.
    public static let mediaTypes: [String] = [
        "application/pdf", "application/ofd",
        "image/jpeg", "image/png", "image/gif", "image/webp", "image/tiff",
        "application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.oasis.opendocument.presentation",
        "text/plain", "text/csv",
    ]

    public let directory: String
    public let maxBytes: Int
    /// Serialises the step that makes uploaded bytes visible (type file, then bytes), so that two
    /// first uploads of one hash at once keep one media type.
    private let publishing = Mutex(0)

    public init(directory: String, maxBytes: Int) throws(Failure) {
        self.directory = directory
        self.maxBytes = maxBytes
        for folder in [directory, directory + "/objects", directory + "/grants", directory + "/tmp"] {
            do {
                try FileManager.default.createDirectory(
                    atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw .storage("cannot create \(folder)")
            }
        }
        removeAbandonedUploads()
    }

    // MARK: Names

    /// Whether `text` is a SHA-256 as records write it (64 lower-case hex digits): the only text
    /// ever used as a file name here.
    public static func isHash(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// A participant id usable as a file name (seeds ids are; anything else is never granted).
    static func isParticipantName(_ id: String) -> Bool {
        guard let first = id.utf8.first, first != UInt8(ascii: "."), id.utf8.count <= 100 else { return false }
        return id.utf8.allSatisfy {
            (0x30...0x39).contains($0) || (0x61...0x7A).contains($0) || (0x41...0x5A).contains($0) || $0 == 0x2D || $0 == 0x5F || $0 == 0x2E
        }
    }

    /// The essence of a media type (`text/plain; charset=utf-8` → `text/plain`), lower-cased.
    public static func essence(_ mediaType: String) -> String {
        String(mediaType.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
            .trimmingCharacters(in: .whitespaces).lowercased()
    }

    /// The media type as stored: an allowed essence, with its `charset` for text types; nil when
    /// the essence is not allowed.
    public static func normalizedMediaType(_ header: String) -> String? {
        let essence = essence(header)
        guard mediaTypes.contains(essence) else { return nil }
        guard essence.hasPrefix("text/") else { return essence }
        for parameter in header.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, pair[0].lowercased() == "charset" else { continue }
            let charset = pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"")).lowercased()
            if !charset.isEmpty, charset.utf8.count <= 40,
                charset.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x7A).contains($0) || $0 == 0x2D || $0 == 0x5F })
            {
                return essence + "; charset=" + charset
            }
        }
        return essence
    }

    func objectPath(_ sha256: String) -> String { directory + "/objects/" + sha256 }
    private func typePath(_ sha256: String) -> String { directory + "/objects/" + sha256 + ".type" }
    private func grantFolder(_ sha256: String) -> String { directory + "/grants/" + sha256 }

    // MARK: Reading

    /// The stored bytes of `sha256`, or nil when none were uploaded (or it is not a hash).
    public func stored(_ sha256: String) -> Stored? {
        guard Self.isHash(sha256) else { return nil }
        var info = stat()
        guard stat(objectPath(sha256), &info) == 0 else { return nil }
        let type = (FileManager.default.contents(atPath: typePath(sha256))).flatMap { String(data: $0, encoding: .utf8) }
        return Stored(sha256: sha256, size: Int(info.st_size), mediaType: type ?? "application/octet-stream")
    }

    /// Whether `participant` was granted `sha256` (issuer or audience of an accepted bulletin).
    public func mayRead(_ sha256: String, participant: String) -> Bool {
        guard Self.isHash(sha256), Self.isParticipantName(participant) else { return false }
        return access(grantFolder(sha256) + "/" + participant, F_OK) == 0
    }

    // MARK: Writing

    /// Receives an upload: streams `parts` to a temporary file while hashing, refuses more than
    /// `maxBytes` (as soon as they pass), checks the hash against `sha256`, then stores the bytes
    /// under it unless they already are. Answers what is stored (the first upload's media type).
    public func upload<Parts: AsyncSequence>(
        sha256: String, contentType: String?, parts: Parts
    ) async throws -> Stored where Parts.Element == ByteBuffer {
        guard Self.isHash(sha256) else { throw Failure.malformedHash(sha256) }
        guard let contentType else { throw Failure.unsupportedMediaType(nil) }
        guard let mediaType = Self.normalizedMediaType(contentType) else {
            throw Failure.unsupportedMediaType(Self.essence(contentType).isEmpty ? nil : Self.essence(contentType))
        }
        let temporary = directory + "/tmp/upload-" + UUID().uuidString
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Failure.storage("cannot create a temporary file") }
        var isOpen = true
        defer {
            if isOpen { close(fd) }
            unlink(temporary)  // renamed away when stored; else the upload is dropped
        }
        let digest = StreamingDigest(.sha256)
        var size = 0
        for try await part in parts {
            guard size + part.readableBytes <= maxBytes else { throw Failure.tooLarge(limit: maxBytes) }
            size += part.readableBytes
            try part.withUnsafeReadableBytes { bytes in
                digest.update(bytes)
                try Self.writeAll(fd, bytes)
            }
        }
        let actual = digest.finishHex()
        guard actual == sha256 else { throw Failure.hashMismatch(expected: sha256, actual: actual) }
        guard fsync(fd) == 0 else { throw Failure.storage("cannot flush an upload") }
        close(fd)
        isOpen = false
        return try publishing.withLock { _ throws(Failure) -> Stored in
            if let existing = stored(sha256) { return existing }
            try Self.writeFile(typePath(sha256), Array(mediaType.utf8), temporary: temporary + ".type")
            guard rename(temporary, objectPath(sha256)) == 0 else { throw Failure.storage("cannot move an upload into place") }
            try Self.syncFolder(directory + "/objects")
            return Stored(sha256: sha256, size: size, mediaType: mediaType)
        }
    }

    /// Lets each of `participants` read each of `hashes` (idempotent). Durable when it returns.
    public func grant(_ hashes: [String], to participants: [String]) throws(Failure) {
        let names = participants.filter(Self.isParticipantName)
        var created = false
        for sha256 in Set(hashes) where Self.isHash(sha256) {
            let folder = grantFolder(sha256)
            if mkdir(folder, 0o700) == 0 {
                created = true
            } else if errno != EEXIST {
                throw .storage("cannot create a grant folder")
            }
            var added = false
            for name in Set(names) where access(folder + "/" + name, F_OK) != 0 {
                let fd = open(folder + "/" + name, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
                guard fd >= 0 else { throw .storage("cannot record a grant") }
                close(fd)
                added = true
            }
            if added { try Self.syncFolder(folder) }
        }
        if created { try Self.syncFolder(directory + "/grants") }
    }

    // MARK: Bulletins

    /// What a record's attachments come to: errors (the record is refused) naming the member, and
    /// the members (`/attachments/<i>/sha256`) whose bytes are not uploaded yet, which the record
    /// may still carry (they can be uploaded later), with every hash it names.
    public struct Check: Sendable {
        public var errors: [RecordError] = []
        public var missing: [String] = []
        public var hashes: [String] = []
    }

    /// Checks each attachment of `record` against the store: its media type must be one this
    /// gateway stores and its size within `maxBytes` (else it could never be uploaded); when its
    /// bytes are stored, their length must be its `size` and their media type its `mediaType`.
    public func check(_ record: JSONValue) -> Check {
        var check = Check()
        guard let attachments = record["attachments"]?.arrayValue else { return check }
        for (i, attachment) in attachments.enumerated() {
            guard let sha256 = attachment["sha256"]?.stringValue, Self.isHash(sha256) else { continue }
            check.hashes.append(sha256)
            let size = attachment["size"]?.numberValue?.intValue
            let mediaType = attachment["mediaType"]?.stringValue ?? ""
            if !Self.mediaTypes.contains(Self.essence(mediaType)) {
                check.errors.append(
                    RecordError(
                        "unsupported-media-type", path: "/attachments/\(i)/mediaType",
                        message: "\(mediaType) is not an attachment type this gateway stores; allowed: \(Self.mediaTypes.joined(separator: ", "))"))
            }
            if let size, size > maxBytes {
                check.errors.append(
                    RecordError(
                        "attachment-too-large", path: "/attachments/\(i)/size",
                        message: "\(size) bytes is more than an attachment may have (\(maxBytes), attachments.maxBytes)"))
            }
            guard let stored = stored(sha256) else {
                check.missing.append("/attachments/\(i)/sha256")
                continue
            }
            if let size, size != stored.size {
                check.errors.append(
                    RecordError(
                        "attachment-mismatch", path: "/attachments/\(i)/size",
                        message: "the bytes uploaded for sha256 \(sha256) are \(stored.size) bytes, not \(size)"))
            }
            if Self.mediaTypes.contains(Self.essence(mediaType)), Self.essence(stored.mediaType) != Self.essence(mediaType) {
                check.errors.append(
                    RecordError(
                        "attachment-mismatch", path: "/attachments/\(i)/mediaType",
                        message: "the bytes of sha256 \(sha256) were uploaded as \(Self.essence(stored.mediaType)), not \(mediaType)"))
            }
        }
        return check
    }

    // MARK: Files

    private static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(Failure) {
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw .storage("cannot write an upload")
            }
            offset += n
        }
    }

    /// Writes `bytes` to `path` through `temporary`: write, fsync, rename.
    private static func writeFile(_ path: String, _ bytes: [UInt8], temporary: String) throws(Failure) {
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .storage("cannot create a temporary file") }
        let written = bytes.withUnsafeBytes { raw in Result { () throws(Failure) in try writeAll(fd, raw) } }
        if case .failure(let failure) = written {
            close(fd)
            unlink(temporary)
            throw failure
        }
        let synced = fsync(fd) == 0
        close(fd)
        guard synced, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw .storage("cannot write \(path.split(separator: "/").last ?? "")")
        }
    }

    private static func syncFolder(_ path: String) throws(Failure) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .storage("cannot open a folder to flush it") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw .storage("cannot flush a folder") }
    }

    /// Removes uploads a crashed process left in `tmp/` more than a day ago (a younger one may be
    /// another process's upload in progress, on a folder several servers share).
    private func removeAbandonedUploads() {
        let folder = directory + "/tmp"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
        let dayAgo = Date().addingTimeInterval(-86_400)
        for name in names {
            let path = folder + "/" + name
            if let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date, modified < dayAgo {
                unlink(path)
            }
        }
    }
}
