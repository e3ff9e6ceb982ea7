import Foundation
import GatewayModel
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `logFormat: json` (issue 16 item 3): one JSON object per line, `{"timestamp", "level", "label",
/// "message", "metadata": {…}}` (metadata merged from the logger and the call; nested values as
/// JSON arrays and objects, everything else as strings), so that a log shipper reads the audit
/// members (`caller`, `requestId`, `envelopeId`, `recordId`, …) without parsing text.
public struct JSONLogHandler: LogHandler {
    public let label: String
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    private let output: @Sendable ([UInt8]) -> Void

    /// Lines go to `output`, one call per line (with its newline).
    public init(label: String, output: @escaping @Sendable ([UInt8]) -> Void) {
        self.label = label
        self.output = output
    }

    /// Lines go to standard error, each in one write.
    public static func standardError(label: String) -> JSONLogHandler {
        JSONLogHandler(label: label) { line in StandardError.write(line) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        var line = Self.line(
            timestamp: Date(), level: event.level, label: label, message: "\(event.message)", metadata: merged
        ).canonicalBytes()
        line.append(0x0A)
        output(line)
    }

    /// The object of one line.
    static func line(timestamp: Date, level: Logger.Level, label: String, message: String, metadata: Logger.Metadata) -> JSONValue {
        var o = JSONObject([
            "timestamp": .string(Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(timestamp)),
            "level": .string(level.rawValue), "label": .string(label), "message": .string(message),
        ])
        o["metadata"] = .object(JSONObject(metadata.sorted { $0.key < $1.key }.map { .init(key: $0.key, value: json($0.value)) }))
        return .object(o)
    }

    static func json(_ value: Logger.MetadataValue) -> JSONValue {
        switch value {
        case .string(let text): .string(text)
        case .stringConvertible(let convertible): .string(convertible.description)
        case .array(let values): .array(values.map(json))
        case .dictionary(let members):
            .object(JSONObject(members.sorted { $0.key < $1.key }.map { .init(key: $0.key, value: json($0.value)) }))
        }
    }
}

/// Whole lines to standard error, one `write` each, never interleaved within this process.
enum StandardError {
    private static let lock = Mutex(())

    static func write(_ bytes: [UInt8]) {
        lock.withLock { _ in
            bytes.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let n = Glibc.write(2, raw.baseAddress! + offset, raw.count - offset)
                    if n <= 0 {
                        if n < 0 && errno == EINTR { continue }
                        return
                    }
                    offset += n
                }
            }
        }
    }
}

extension ServerConfiguration.LogFormat {
    /// The standard-error handler `xgw serve` bootstraps swift-log with.
    public func standardErrorHandler(label: String, level: Logger.Level) -> any LogHandler {
        switch self {
        case .text:
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        case .json:
            var handler = JSONLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
