import Foundation
import GatewayModel
#if canImport(Glibc)
import Glibc
#endif

extension RetentionArchive {
    /// `manifest.json`: `{"format", "updatedAt", "files": [{"name", "bytes", "sha256", "records"}],
    /// "lastBatch": ["<messageId> <envelopeId> <destination>", …]}`, replaced atomically (a new
    /// file fsynced, renamed over the old one, the folder fsynced).
    public struct Manifest: Sendable, Hashable {
        public struct File: Sendable, Hashable {
            public var name: String
            /// The committed length: bytes beyond it are an interrupted write.
            public var bytes = 0
            /// SHA-256 (hex) of the first `bytes` bytes.
            public var sha256 = ""
            /// Lines in the committed bytes.
            public var records = 0
        }

        public var files: [File] = []
        /// The keys of the last batch written (`RetentionArchive.key`).
        public var lastBatch: [String] = []
        public var updatedAt = ""

        var json: JSONValue {
            [
                "format": .string(RetentionArchive.format), "updatedAt": .string(updatedAt),
                "files": .array(files.map { file in
                    [
                        "name": .string(file.name), "bytes": .number(JSONNumber(file.bytes)), "sha256": .string(file.sha256),
                        "records": .number(JSONNumber(file.records)),
                    ]
                }),
                "lastBatch": .array(lastBatch.map { .string($0) }),
            ]
        }

        /// The manifest of `folder`; nil when there is none yet. Throws when it cannot be read.
        public static func load(folder: String) throws -> Manifest? {
            let path = folder + "/" + RetentionArchive.manifestName
            guard FileManager.default.fileExists(atPath: path) else { return nil }
            guard let data = FileManager.default.contents(atPath: path), let value = try? JSONParser.parse([UInt8](data)),
                value["format"]?.stringValue == RetentionArchive.format, let files = value["files"]?.arrayValue
            else {
                throw Failure("\(path) is not a manifest of format \(RetentionArchive.format)")
            }
            var manifest = Manifest()
            manifest.updatedAt = value["updatedAt"]?.stringValue ?? ""
            manifest.lastBatch = value["lastBatch"]?.arrayValue?.compactMap(\.stringValue) ?? []
            for file in files {
                guard let name = file["name"]?.stringValue, Self.isDayFile(name),
                    let bytes = file["bytes"]?.numberValue?.intValue, let sha256 = file["sha256"]?.stringValue,
                    let records = file["records"]?.numberValue?.intValue
                else {
                    throw Failure("\(path): a file entry without name (YYYY-MM-DD.ndjson.gz), bytes, sha256 and records")
                }
                manifest.files.append(File(name: name, bytes: bytes, sha256: sha256, records: records))
            }
            return manifest
        }

        /// Writes `manifest.json.new`, fsyncs it, renames it over `manifest.json`, fsyncs the folder.
        func save(folder: String) throws {
            let path = folder + "/" + RetentionArchive.manifestName
            let temporary = path + ".new"
            var bytes = json.canonicalBytes()
            bytes.append(0x0A)
            let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw Failure("cannot write \(temporary) (errno \(errno))") }
            let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            let synced = written == bytes.count && fsync(fd) == 0
            close(fd)
            guard synced else { throw Failure("cannot write \(temporary) (errno \(errno))") }
            guard rename(temporary, path) == 0 else { throw Failure("cannot rename \(temporary) (errno \(errno))") }
            try RetentionArchive.syncFolder(folder)
        }

        /// `YYYY-MM-DD.ndjson.gz`.
        static func isDayFile(_ name: String) -> Bool {
            let bytes = Array(name.utf8)
            guard bytes.count == 20, name.hasSuffix(".ndjson.gz") else { return false }
            return bytes.prefix(10).enumerated().allSatisfy { index, byte in
                index == 4 || index == 7 ? byte == UInt8(ascii: "-") : (0x30...0x39).contains(byte)
            }
        }
    }
}
