import Foundation
import GatewayFederation
import GatewayModel
import GatewayServer
import GatewaySigning
import Synchronization
import Testing
import TestSupport

/// Two running nodes of one alliance. The running servers and the tokens are behind a lock: a
/// test's tasks call a node (`client`) while it restarts one (`start`, FederationCrashTests).
final class TwoNodes: @unchecked Sendable {
    let alliance: NodeAlliance
    private let running = Mutex<(servers: [String: ServerProcess], tokens: [String: [String: String]])>(([:], [:]))
    /// The running server of each node, the one started last.
    var servers: [String: ServerProcess] { running.withLock { $0.servers } }
    let ports: [String: Int]
    let directoryPath: [String: String]
    /// Lines appended to every node's configuration file (e.g. a faster `retry` policy).
    var extraConfiguration = ""

    init(serial: Int = 7) throws {
        alliance = try NodeAlliance()
        ports = ["renshi-node": try freePort(), "xinsheng-node": try freePort()]
        let urls = ports.mapValues { "https://127.0.0.1:\($0)" }
        let directory = try alliance.directory(serial: serial, urls: urls)
        var paths: [String: String] = [:]
        for node in NodeAlliance.hosts.keys {
            try alliance.nodePKI(node)
            paths[node] = try alliance.writeDirectory(directory, node: node)
        }
        directoryPath = paths
    }

    func configPath(_ node: String) throws -> String {
        let config = alliance.folder.appendingPathComponent("\(node).yaml").path
        try (alliance.configuration(node: node, directory: directoryPath[node]!, federationPort: ports[node]!) + extraConfiguration)
            .write(toFile: config, atomically: true, encoding: .utf8)
        return config
    }

    func data(_ node: String) -> URL { alliance.folder.appendingPathComponent("\(node)-data") }

    @discardableResult
    func start(_ node: String) async throws -> ServerProcess {
        try FileManager.default.createDirectory(at: data(node), withIntermediateDirectories: true)
        let server = try await ServerProcess.start(data: data(node), arguments: ["--config", try configPath(node)])
        running.withLock {
            $0.servers[node] = server
            $0.tokens[node, default: [:]].merge(server.printedTokens) { kept, _ in kept }
        }
        return server
    }

    /// A client of `node`'s server as it runs now: look it up for each call in a test that restarts
    /// nodes (a restarted node listens on a new port).
    func client(_ node: String) -> HTTPClient { HTTPClient(port: servers[node]!.port) }

    /// The token of `participant` at `node`: printed at the node's first start, kept for later starts.
    func token(_ node: String, _ participant: String) -> String {
        running.withLock { $0.tokens[node]![participant]! }
    }

    /// Submits the Sichuan fixture `sc-traffic-xml/001-formats-example-gbk.xml` (renshi's traffic, for
    /// xinsheng at xinsheng-node) as renshi at renshi-node: the number of records accepted, which the
    /// test expects to be more than none.
    @discardableResult
    func submitFixture(sourceLocation: SourceLocation = #_sourceLocation) async throws -> Int {
        let submitted = try await client("renshi-node").call(
            "POST", "/v1/documents", token: token("renshi-node", "renshi"), body: try fixture("sc-traffic-xml/001-formats-example-gbk.xml"))
        let accepted = submitted.json?["accepted"]?.numberValue?.intValue ?? 0
        #expect(submitted.status == 200 && accepted > 0, "\(submitted.text)", sourceLocation: sourceLocation)
        return accepted
    }

    /// `GET /v1/ops/peers` at `node`: the outbox towards `peer` (queued and leased) and its dead letters.
    func outbox(_ node: String, towards peer: String) async throws -> (depth: Int, dead: Int) {
        let answer = try await client(node).call("GET", "/v1/ops/peers", token: token(node, "ops"))
        guard let entry = answer.json?["peers"]?[peer], let depth = entry["outboxDepth"]?.numberValue?.intValue,
            let dead = entry["deadLetters"]?.numberValue?.intValue
        else { throw TestFailure("GET /v1/ops/peers at \(node): \(answer.status) \(answer.text)") }
        return (depth, dead)
    }

    /// Polls until `node`'s outbox towards `peer` is empty (true) or `seconds` passed (false).
    func drained(_ node: String, towards peer: String, seconds: Double = 60) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let outbox = try? await outbox(node, towards: peer), outbox.depth == 0 { return true }
            try await Task.sleep(for: .milliseconds(200))
        }
        return false
    }

    /// Leases at `node` as `participant` (visibility 10 minutes, so that nothing leased here comes
    /// back during a test) until `done` holds for what came, or `seconds` passed.
    func leaseAll(_ node: String, _ participant: String, seconds: Double = 60, until done: ([JSONValue]) -> Bool) async throws -> [JSONValue] {
        var got: [JSONValue] = []
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            let answer = try await client(node).call(
                "POST", "/v1/inbox/lease", token: token(node, participant), json: ["max": 100, "visibilitySeconds": 600])
            let messages = answer.json?["messages"]?.arrayValue ?? []
            got += messages
            if messages.isEmpty && !done(got) { try await Task.sleep(for: .milliseconds(200)) }
        } while !done(got) && Date() < deadline
        return got
    }

    /// Clean-up (`defer { nodes.remove() }`, which cannot await): SIGKILL and reap, which takes
    /// milliseconds; a test that checks a graceful stop calls `stop` on the server itself.
    func stopAll() {
        for server in servers.values { server.killNow() }
    }

    func remove() {
        stopAll()
        alliance.remove()
    }
}

/// One HTTPS request with curl (a client independent of ours), with or without a client certificate.
/// Status 0 when the TLS handshake failed.
func curlFederation(port: Int, path: String, certificate: String?, key: String?, root: String, method: String = "GET", body: String? = nil,
    headers: [String] = []
) throws -> (status: Int, body: String) {
    var arguments = ["-sS", "--tlsv1.3", "--cacert", root, "-o", "-", "-w", "\n%{http_code}", "--max-time", "20", "-X", method]
    if let certificate, let key { arguments += ["--cert", certificate, "--key", key] }
    if let body { arguments += ["-H", "Content-Type: application/json", "--data-binary", body] }
    for header in headers { arguments += ["-H", header] }
    // Host names are not checked by nodes (the pin identifies the node); curl would check them.
    arguments += ["--insecure", "https://127.0.0.1:\(port)\(path)"]
    let run = try TestBinary.runCommand("/usr/bin/curl", arguments)
    let text = run.output
    guard let newline = text.lastIndex(of: "\n") else { return (0, text + run.error) }
    let status = Int(text[text.index(after: newline)...]) ?? 0
    return (status, String(text[..<newline]) + run.error)
}
