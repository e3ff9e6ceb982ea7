import Foundation
import GatewayModel
import Synchronization
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A real `xgw serve` started as a child process on a loopback port (XGW_PORT=0: the server
/// prints the port it bound), in the repository root so it finds Mappings/ and seeds/, with its
/// data under a temporary folder and its log (standard error) in `<data>/server.log`.
final class ServerProcess: @unchecked Sendable {
    let process: Process
    let port: Int
    let data: URL
    /// Tokens printed on first start (name → token); empty on a restart.
    let printedTokens: [String: String]
    private let output: OutputBuffer

    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The `xgw` executable built beside the test bundle (the test target depends on it).
    static func executable() throws -> URL {
        var starts = [URL(fileURLWithPath: CommandLine.arguments[0]), Bundle.main.bundleURL]
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            starts.insert(URL(fileURLWithPath: exe), at: 0)
        }
        for start in starts {
            var directory = start.deletingLastPathComponent()
            for _ in 0..<4 {
                let candidate = directory.appendingPathComponent("xgw")
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), !isDirectory.boolValue,
                    FileManager.default.isExecutableFile(atPath: candidate.path)
                {
                    return candidate
                }
                directory = directory.deletingLastPathComponent()
            }
        }
        throw TestFailure("xgw not found beside the test bundle (\(starts.map(\.path)))")
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("xgw-server-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    init(data: URL, environment extra: [String: String] = [:], arguments: [String] = []) throws {
        self.data = data
        let process = Process()
        process.executableURL = try Self.executable()
        process.arguments = ["serve"] + arguments
        process.currentDirectoryURL = Self.repositoryRoot
        var environment = ProcessInfo.processInfo.environment
        environment["XGW_PORT"] = "0"
        environment["XGW_DATA"] = data.path
        for (k, v) in extra { environment[k] = v }
        process.environment = environment
        let stdout = Pipe()
        process.standardOutput = stdout
        let logPath = data.appendingPathComponent("server.log").path
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        process.standardError = log
        let output = OutputBuffer()
        self.output = output
        try process.run()
        self.process = process
        let reader = stdout.fileHandleForReading
        Thread.detachNewThread {
            while true {
                let chunk = reader.availableData
                if chunk.isEmpty { break }
                output.append(String(decoding: chunk, as: UTF8.self))
            }
        }
        let deadline = Date().addingTimeInterval(120)
        var port: Int?
        while Date() < deadline, port == nil {
            let text = output.text
            if let range = text.range(of: "listening on http://") {
                let rest = text[range.upperBound...]
                if let colon = rest.firstIndex(of: ":"), let end = rest.firstIndex(of: "\n") {
                    port = Int(rest[rest.index(after: colon)..<end])
                }
            }
            if port == nil {
                if !process.isRunning { break }
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        guard let port else {
            if process.isRunning { process.terminate() }
            let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            throw TestFailure("the server did not start: \(output.text)\n\(log.suffix(2000))")
        }
        self.port = port
        var tokens: [String: String] = [:]
        for line in output.text.split(separator: "\n") where line.hasPrefix("token ") {
            let parts = line.split(separator: " ")
            if parts.count == 3 { tokens[String(parts[1])] = String(parts[2]) }
        }
        printedTokens = tokens
    }

    var stdout: String { output.text }

    var log: String { (try? String(contentsOf: data.appendingPathComponent("server.log"), encoding: .utf8)) ?? "" }

    /// Sends `signal` and waits for the exit; returns the termination status.
    @discardableResult
    func stop(signal: Int32 = SIGTERM, timeout: TimeInterval = 30) -> Int32 {
        if process.isRunning { kill(process.processIdentifier, signal) }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        return process.terminationStatus
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// What the child printed, filled by a reader thread.
final class OutputBuffer: Sendable {
    private let state = Mutex("")
    func append(_ s: String) { state.withLock { $0 += s } }
    var text: String { state.withLock { $0 } }
}

/// A value shared between test tasks.
final class Locked<Value: Sendable>: Sendable {
    private let state: Mutex<Value>
    init(_ value: Value) { state = Mutex(value) }
    func withLock<R: Sendable>(_ body: (inout Value) -> R) -> R { state.withLock { body(&$0) } }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// One HTTP answer.
struct HTTPAnswer: Sendable {
    var status: Int
    var headers: [String: String]
    var body: [UInt8]

    var json: JSONValue? { try? JSONParser.parse(body) }
    var text: String { String(decoding: body, as: UTF8.self) }

    func header(_ name: String) -> String? {
        headers.first { $0.key.lowercased() == name.lowercased() }?.value
    }
}

/// A plain HTTP/1.1 client over URLSession (FoundationNetworking on Linux), loopback only.
struct HTTPClient: Sendable {
    let port: Int
    static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 120
        configuration.httpMaximumConnectionsPerHost = 16
        return URLSession(configuration: configuration)
    }()

    func call(
        _ method: String, _ path: String, token: String? = nil, body: [UInt8]? = nil, json: JSONValue? = nil,
        headers: [String: String] = [:]
    ) async throws -> HTTPAnswer {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = method
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        if let json {
            request.httpBody = Data(json.canonicalBytes())
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        } else if let body {
            request.httpBody = Data(body)
        }
        let (data, response) = try await Self.session.data(for: request)
        guard let http = response as? HTTPURLResponse else { throw TestFailure("not an HTTP answer") }
        var fields: [String: String] = [:]
        for (k, v) in http.allHeaderFields { fields["\(k)"] = "\(v)" }
        return HTTPAnswer(status: http.statusCode, headers: fields, body: Array(data))
    }
}

func fixture(_ path: String) throws -> [UInt8] {
    Array(try Data(contentsOf: ServerProcess.repositoryRoot.appendingPathComponent("Fixtures/" + path)))
}
