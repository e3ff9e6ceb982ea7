import ArgumentParser
import Foundation
import GatewayMapping

/// Where the gateway finds its `Mappings/`, `seeds/` and `Fixtures/` folders: the current folder
/// when it has them (a checkout), else the folders above the executable (`.build/release/xgw`
/// inside a checkout), else the environment variable `XGW_HOME`.
enum Installation {
    static func folder(_ name: String) -> String {
        let fm = FileManager.default
        if let home = ProcessInfo.processInfo.environment["XGW_HOME"], fm.fileExists(atPath: home + "/" + name) {
            return home + "/" + name
        }
        if fm.fileExists(atPath: name) { return name }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            let candidate = dir.appendingPathComponent(name).path
            if fm.fileExists(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return name
    }
}

/// The options every command that translates shares.
struct MappingOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Folder of mapping files.", valueName: "DIR"))
    var mappings: String?

    @Option(name: .long, help: ArgumentHelp("Folder of seed data (participants, code tables).", valueName: "DIR"))
    var seeds: String?

    var mappingsDirectory: String { mappings ?? Installation.folder("Mappings") }
    var seedsDirectory: String { seeds ?? Installation.folder("seeds") }

    /// Loads the translator, or exits 1 with every configuration problem listed (file:line:column).
    func translator() throws -> Translator {
        do {
            return try Translator.load(mappingsDirectory: mappingsDirectory, seedsDirectory: seedsDirectory)
        } catch {
            for e in error.errors { Console.error("xgw: \(e)") }
            throw ExitCode(78)
        }
    }
}

/// Exit codes of cli.md (sysexits).
enum Exit {
    static let checkFailed = ExitCode(1)
    static let usage = ExitCode(64)
    static let dataError = ExitCode(65)
    static let noInput = ExitCode(66)
    static let software = ExitCode(70)
    static let ioError = ExitCode(74)
}

/// Buffered writes to standard output and standard error (one `write` per 64 KiB, not per line).
final class OutputStream: @unchecked Sendable {
    private let fd: Int32
    private var buffer: [UInt8] = []

    init(fd: Int32) {
        self.fd = fd
        buffer.reserveCapacity(1 << 16)
    }

    func write(_ bytes: [UInt8]) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 16 { flush() }
    }

    func write(_ s: String) { write(Array(s.utf8)) }

    func line(_ s: String) {
        buffer.append(contentsOf: s.utf8)
        buffer.append(0x0A)
        if buffer.count >= 1 << 16 { flush() }
    }

    func line(_ bytes: [UInt8]) {
        buffer.append(contentsOf: bytes)
        buffer.append(0x0A)
        if buffer.count >= 1 << 16 { flush() }
    }

    func flush() {
        var offset = 0
        while offset < buffer.count {
            let n = buffer[offset...].withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            offset += n
        }
        buffer.removeAll(keepingCapacity: true)
    }

    deinit { flush() }
}

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

/// Reads a whole file, or standard input for `-`.
func readInput(_ path: String) throws -> [UInt8] {
    if path == "-" {
        return Array(FileHandle.standardInput.readDataToEndOfFile())
    }
    guard let data = FileManager.default.contents(atPath: path) else {
        throw CocoaError(.fileReadNoSuchFile)
    }
    return Array(data)
}
