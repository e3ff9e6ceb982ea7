import CompressNIO
import Foundation
import GatewayModel
import GatewaySigning
import NIOCore

extension RetentionArchive {
    /// What `verify` found (`xgw archive verify FOLDER`).
    public struct Verification: Sendable {
        /// Day files checked, and their lines.
        public var files = 0
        public var records = 0
        /// Distinct messages (a message archived twice, by two nodes say, counts once).
        public var messages = 0
        /// Envelopes and receipts among the lines (embedded or as base64).
        public var envelopes = 0
        public var receipts = 0
        /// What is wrong: a missing or altered file, a line that does not parse, a hash that does not match.
        public var problems: [String] = []
        /// What is not wrong but worth saying: an interrupted write's tail, a file the manifest does not list.
        public var notes: [String] = []

        public var ok: Bool { problems.isEmpty }
    }

    /// Checks the archive in `folder` against its manifest: every listed file is there with its
    /// committed length and SHA-256, decompresses, and holds as many lines as listed; every line
    /// is a JSON object with the members of `line`, and its envelope's and receipt's bytes match
    /// their `…Sha256`. Signatures are not checked here (`xgw verify` checks an envelope or receipt
    /// taken out of a line, against the alliance's trust).
    public static func verify(folder: String) -> Verification {
        var result = Verification()
        let manifest: Manifest
        do {
            guard let loaded = try Manifest.load(folder: folder) else {
                result.problems.append("\(folder) has no \(manifestName)")
                return result
            }
            manifest = loaded
        } catch {
            result.problems.append("\(error)")
            return result
        }
        let listed = Set(manifest.files.map(\.name))
        let present = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter(Manifest.isDayFile)
        for name in present.sorted() where !listed.contains(name) {
            result.notes.append("\(name) is not in the manifest: an interrupted write, never committed (the next purge removes it)")
        }
        var seen = Set<String>()
        for file in manifest.files {
            result.files += 1
            let path = folder + "/" + file.name
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
                let size = (attributes[.size] as? NSNumber)?.intValue
            else {
                result.problems.append("\(file.name): missing")
                continue
            }
            guard size >= file.bytes else {
                result.problems.append("\(file.name): \(size) bytes, the manifest records \(file.bytes)")
                continue
            }
            if size > file.bytes {
                result.notes.append("\(file.name): \(size - file.bytes) bytes past the committed length (an interrupted write, cut off by the next purge)")
            }
            guard let sha256 = try? sha256(of: path, bytes: file.bytes), sha256 == file.sha256 else {
                result.problems.append("\(file.name): SHA-256 does not match the manifest")
                continue
            }
            let lines: [JSONValue]
            do {
                lines = try Self.lines(of: path, bytes: file.bytes)
            } catch {
                result.problems.append("\(file.name): \(error)")
                continue
            }
            if lines.count != file.records {
                result.problems.append("\(file.name): \(lines.count) lines, the manifest records \(file.records)")
            }
            for (number, line) in lines.enumerated() {
                result.records += 1
                let at = "\(file.name) line \(number + 1)"
                guard let messageId = line["messageId"]?.numberValue?.intValue, let envelopeId = line["envelopeId"]?.stringValue,
                    let destination = line["destination"]?.stringValue, line["ackedAt"]?.stringValue != nil,
                    line["outcome"]?.stringValue != nil
                else {
                    result.problems.append("\(at): not an archive line (messageId, envelopeId, destination, ackedAt, outcome)")
                    continue
                }
                if seen.insert("\(messageId) \(envelopeId) \(destination)").inserted { result.messages += 1 }
                switch embedded(line, "envelope") {
                case .missing: result.problems.append("\(at): no envelope")
                case .mismatch: result.problems.append("\(at): the envelope does not match envelopeSha256")
                case .present: result.envelopes += 1
                }
                switch embedded(line, "receipt") {
                case .missing: break
                case .mismatch: result.problems.append("\(at): the receipt does not match receiptSha256")
                case .present: result.receipts += 1
                }
            }
        }
        return result
    }

    private enum Embedded { case missing, mismatch, present }

    /// The stored bytes of `name` in an archive line (JSON re-serialised canonically, or base64)
    /// checked against `<name>Sha256`.
    private static func embedded(_ line: JSONValue, _ name: String) -> Embedded {
        guard let bytes = storedBytes(line, name) else { return .missing }
        guard let expected = line[name + "Sha256"]?.stringValue, Digest.hex(.sha256, bytes) == expected else { return .mismatch }
        return .present
    }

    /// The bytes the queue stored for `name` (`envelope` or `receipt`) of an archive line: what
    /// `xgw verify` takes.
    public static func storedBytes(_ line: JSONValue, _ name: String) -> [UInt8]? {
        if let value = line[name], !value.isNull { return value.canonicalBytes() }
        if let text = line[name + "Base64"]?.stringValue, let data = Data(base64Encoded: text) { return [UInt8](data) }
        return nil
    }

    /// The lines of a day file (its first `bytes` bytes; all of it when nil), every gzip member in turn.
    public static func lines(of path: String, bytes: Int? = nil) throws -> [JSONValue] {
        guard let data = FileManager.default.contents(atPath: path) else { throw Failure("cannot read \(path)") }
        var input = ByteBuffer(bytes: data.prefix(bytes ?? data.count))
        var text: [UInt8] = []
        while input.readableBytes > 0 {
            let before = input.readableBytes
            var output: ByteBuffer
            do {
                output = try input.decompress(with: .gzip())
            } catch {
                throw Failure("not gzip at byte \(data.count - before): \(error)")
            }
            guard input.readableBytes < before else { throw Failure("not gzip at byte \(data.count - before)") }
            text += output.readBytes(length: output.readableBytes) ?? []
        }
        var lines: [JSONValue] = []
        for (number, part) in text.split(separator: 0x0A, omittingEmptySubsequences: true).enumerated() {
            guard let value = try? JSONParser.parse(Array(part)), value.objectValue != nil else {
                throw Failure("line \(number + 1) is not a JSON object")
            }
            lines.append(value)
        }
        if let last = text.last, last != 0x0A { throw Failure("the last line is cut off") }
        return lines
    }
}
