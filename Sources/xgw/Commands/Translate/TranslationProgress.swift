import Foundation
import GatewayMapping

/// `xgw translate`'s progress for a large file, on standard error when it is a terminal only (a
/// pipe or a file keeps cli.md's one JSON line per rejection): a line rewritten at most four times
/// a second while the records come, then one summary line.
struct TranslationProgress: Sendable {
    /// Files from this size on (or streamed) are "large".
    static let threshold = 1 << 20

    private let file: String
    private let start = DispatchTime.now().uptimeNanoseconds
    private var lastShown: UInt64 = 0
    private var records = 0
    private var rejected = 0
    private var showing = false

    /// Nil unless standard error is a terminal and `file` is large (or `stream`); never for standard input.
    init?(file: String, stream: Bool) {
        guard isatty(2) == 1, file != "-" else { return nil }
        var st = stat()
        guard stat(file, &st) == 0, stream || Int(st.st_size) >= Self.threshold else { return nil }
        self.file = file
    }

    mutating func count(_ outcome: RecordOutcome) {
        records += 1
        if case .rejected = outcome { rejected += 1 }
        guard records % 256 == 0 else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        guard now - lastShown >= 250_000_000 else { return }
        lastShown = now
        showing = true
        Console.out.flush()
        Console.err.write("\r\u{1B}[K\(file): \(records) records, \(rejected) rejected…")
        Console.err.flush()
    }

    /// Clears the progress line before another line is written to standard error.
    mutating func clearLine() {
        guard showing else { return }
        showing = false
        Console.err.write("\r\u{1B}[K")
    }

    mutating func finish(_ summary: DocumentSummary) {
        clearLine()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let translated = records - rejected
        let mapping = summary.mapping.map { " (\($0.id))" } ?? ""
        Console.out.flush()
        Console.err.line(
            "\(file): \(translated) record\(translated == 1 ? "" : "s") translated, \(rejected) rejected\(mapping) in "
                + String(format: "%.1f", seconds) + " s")
        Console.err.flush()
    }
}
