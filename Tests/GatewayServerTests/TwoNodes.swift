import Foundation
import GatewayFederation
import GatewaySigning
import TestSupport

/// Two running nodes of one alliance.
final class TwoNodes: @unchecked Sendable {
    let alliance: NodeAlliance
    var servers: [String: ServerProcess] = [:]
    let ports: [String: Int]
    let directoryPath: [String: String]

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
        try alliance.configuration(node: node, directory: directoryPath[node]!, federationPort: ports[node]!)
            .write(toFile: config, atomically: true, encoding: .utf8)
        return config
    }

    func data(_ node: String) -> URL { alliance.folder.appendingPathComponent("\(node)-data") }

    @discardableResult
    func start(_ node: String) throws -> ServerProcess {
        try FileManager.default.createDirectory(at: data(node), withIntermediateDirectories: true)
        let server = try ServerProcess(data: data(node), arguments: ["--config", try configPath(node)])
        servers[node] = server
        return server
    }

    func client(_ node: String) -> HTTPClient { HTTPClient(port: servers[node]!.port) }

    /// The tokens of a node: printed at its first start, kept for later starts.
    var tokens: [String: [String: String]] = [:]

    func token(_ node: String, _ participant: String) -> String {
        if let token = tokens[node]?[participant] { return token }
        let printed = servers[node]!.printedTokens
        tokens[node, default: [:]].merge(printed) { a, _ in a }
        return tokens[node]![participant]!
    }

    func stopAll() {
        for server in servers.values { server.stop() }
    }

    func remove() {
        stopAll()
        alliance.remove()
    }
}

/// One HTTPS request with curl (a client independent of ours), with or without a client certificate.
/// Status 0 when the TLS handshake failed.
func curlFederation(port: Int, path: String, certificate: String?, key: String?, root: String, method: String = "GET", body: String? = nil)
    throws -> (status: Int, body: String)
{
    var arguments = ["-sS", "--tlsv1.3", "--cacert", root, "-o", "-", "-w", "\n%{http_code}", "--max-time", "20", "-X", method]
    if let certificate, let key { arguments += ["--cert", certificate, "--key", key] }
    if let body { arguments += ["-H", "Content-Type: application/json", "--data-binary", body] }
    // Host names are not checked by nodes (the pin identifies the node); curl would check them.
    arguments += ["--insecure", "https://127.0.0.1:\(port)\(path)"]
    let run = try TestBinary.runCommand("/usr/bin/curl", arguments)
    let text = run.output
    guard let newline = text.lastIndex(of: "\n") else { return (0, text + run.error) }
    let status = Int(text[text.index(after: newline)...]) ?? 0
    return (status, String(text[..<newline]) + run.error)
}
