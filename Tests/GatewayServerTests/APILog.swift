import Logging
import TestSupport

/// The log lines of an in-process gateway, rendered as `xgw serve`'s standard-error handler
/// renders them (level, message, metadata as key=value), so tests read what an operator reads.
final class APILog: Sendable {
    private let lines = OutputBuffer()

    var text: String { lines.text }

    struct Handler: LogHandler {
        let label: String
        let log: APILog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:]) { _, new in new }
            let rendered = all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            log.lines.append("\(event.level) \(label): [\(event.source)] \(rendered) \(event.message)\n")
        }
    }
}
