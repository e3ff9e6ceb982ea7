import Foundation

/// Standard output and error as the commands write them: buffered, and coloured only on a terminal.
enum Console {
    static let out = OutputStream(fd: 1)
    static let err = OutputStream(fd: 2)

    static func error(_ s: String) {
        out.flush()
        err.line(s)
        err.flush()
    }

    /// Colours only on a terminal, never with NO_COLOR.
    static let colours: Bool = isatty(1) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
        && ProcessInfo.processInfo.environment["TERM"] != "dumb"

    static func paint(_ s: String, _ code: String) -> String { colours ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s }
}
