import Foundation
import GatewayModel
import Synchronization

/// A real `xgw serve` started as a child process on a loopback port (XGW_PORT=0: the server
/// prints the port it bound), in the repository root so it finds Mappings/ and seeds/, with its
/// data under a temporary folder and its log (standard error) in `<data>/server.log`.
public final class ServerProcess: @unchecked Sendable {
    public let process: Process
    public let port: Int
    public let data: URL
    /// Tokens printed on first start (name → token); empty on a restart.
    public let printedTokens: [String: String]
    private let output: OutputBuffer

    public static var repositoryRoot: URL { TestBinary.repositoryRoot }

    /// The `xgw` executable built beside the test bundle (the test target depends on it).
    public static func executable() throws -> URL { try TestBinary.url("xgw") }

    public static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("xgw-server-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    private init(process: Process, port: Int, data: URL, output: OutputBuffer) {
        self.process = process
        self.port = port
        self.data = data
        self.output = output
        var tokens: [String: String] = [:]
        for line in output.text.split(separator: "\n") where line.hasPrefix("token ") {
            let parts = line.split(separator: " ")
            if parts.count == 3 { tokens[String(parts[1])] = String(parts[2]) }
        }
        printedTokens = tokens
    }

    /// Starts `xgw serve` and returns once it printed its port (at most 120 s). Async tests run on
    /// the cooperative thread pool (about 2 threads here, shared by every test target): this waits
    /// with `Task.sleep`, never blocking a thread; the child's output is read by a thread of its own.
    /// `launcher`: a command that runs `xgw serve …` in turn (e.g. `prlimit --nofile=128:128 --`).
    public static func start(
        data: URL, environment extra: [String: String] = [:], arguments: [String] = [], launcher: [String] = []
    ) async throws -> ServerProcess {
        let process = Process()
        let command = launcher + [try executable().path, "serve"] + arguments
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        process.currentDirectoryURL = repositoryRoot
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
        try process.run()
        let reader = stdout.fileHandleForReading
        Thread.detachNewThread {
            while true {
                let chunk = reader.availableData
                if chunk.isEmpty { break }
                output.append(String(decoding: chunk, as: UTF8.self))
            }
        }
        let deadline = Date().addingTimeInterval(120)
        var port = printedPort(output.text)
        while port == nil, process.isRunning, Date() < deadline {
            do {
                try await Task.sleep(for: .milliseconds(50))
            } catch {
                // Cancelled: no ServerProcess will own the child, so it must not outlive this call.
                kill(process.processIdentifier, SIGKILL)
                throw error
            }
            port = printedPort(output.text)
        }
        guard let port else {
            if process.isRunning { process.terminate() }
            let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            throw TestFailure("the server did not start: \(output.text)\n\(log.suffix(2000))")
        }
        return ServerProcess(process: process, port: port, data: data, output: output)
    }

    /// The port of the server's "listening on http(s)://host:port" line, once it is complete.
    private static func printedPort(_ text: String) -> Int? {
        guard let range = text.range(of: "listening on http://") ?? text.range(of: "listening on https://") else { return nil }
        let rest = text[range.upperBound...]
        guard let colon = rest.firstIndex(of: ":"), let end = rest.firstIndex(of: "\n") else { return nil }
        return Int(rest[rest.index(after: colon)..<end])
    }

    public var stdout: String { output.text }

    public var log: String { (try? String(contentsOf: data.appendingPathComponent("server.log"), encoding: .utf8)) ?? "" }

    /// Sends `signal` and waits for the exit (SIGKILL after `timeout`); returns the termination
    /// status. Waits with `Task.sleep`, never blocking a cooperative thread (a graceful stop can take
    /// seconds); if the task is cancelled it kills the child at once.
    @discardableResult
    public func stop(signal: Int32 = SIGTERM, timeout: TimeInterval = 30) async -> Int32 {
        if process.isRunning { kill(process.processIdentifier, signal) }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline {
            if (try? await Task.sleep(for: .milliseconds(20))) == nil { break }
        }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        while process.isRunning {
            if (try? await Task.sleep(for: .milliseconds(10))) == nil { await Task.yield() }
        }
        return process.terminationStatus
    }

    /// Clean-up for `defer` blocks, which cannot `await`: SIGKILL and reap. Unlike a graceful stop
    /// this takes milliseconds (the kernel ends the child at once, nothing to drain), so blocking the
    /// calling thread for it is harmless. A test that checks how the server stops uses `stop`.
    public func killNow() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// What the child printed, filled by a reader thread.
public final class OutputBuffer: Sendable {
    private let state = Mutex("")
    public init() {}
    public func append(_ s: String) { state.withLock { $0 += s } }
    public var text: String { state.withLock { $0 } }
}

/// A value shared between test tasks.
public final class Locked<Value: Sendable>: Sendable {
    private let state: Mutex<Value>
    public init(_ value: Value) { state = Mutex(value) }
    public func withLock<R: Sendable>(_ body: (inout Value) -> R) -> R { state.withLock { body(&$0) } }
}

/// One HTTP answer.
public struct HTTPAnswer: Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: [UInt8]

    public init(status: Int, headers: [String: String], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public var json: JSONValue? { try? JSONParser.parse(body) }
    public var text: String { String(decoding: body, as: UTF8.self) }

    public func header(_ name: String) -> String? {
        headers.first { $0.key.lowercased() == name.lowercased() }?.value
    }
}

/// The bytes of `Fixtures/<path>`.
public func fixture(_ path: String) throws -> [UInt8] {
    Array(try Data(contentsOf: ServerProcess.repositoryRoot.appendingPathComponent("Fixtures/" + path)))
}

/// A Chongqing traffic document (xinsheng → renshi) of `count` records with ids unique to `tag`.
public func chongqingTraffic(tag: String, count: Int) -> [UInt8] {
    var records: [String] = []
    for i in 0..<count {
        records.append(
            """
            {"id":"CQ\(tag)-\(i)","vehicle":{"plateNo":"渝F·A1234","plateKind":"小型汽车"},\
            "driver":{"name":"李四","idCard":"500228199001011235"},"occurredAt":1689035400000,\
            "place":{"areaCode":"500155107","address":"新盛镇场镇过境路K2+300","lng":107.86,"lat":30.86},\
            "offence":{"code":"1039","text":"机动车违反规定停放、临时停车"},"fine":200.0,"points":0,"mode":"ONSITE",\
            "state":"UNHANDLED","org":{"code":"500155000000","name":"重庆市梁平区公安局交通巡逻警察支队"},"updatedAt":1689036000000}
            """)
    }
    return Array("{\"schema\":\"cq.traffic.violation/1\",\"records\":[\(records.joined(separator: ","))]}".utf8)
}
