import Foundation
import GatewayModel
import GatewayServer
import Testing
import TestSupport

/// One node as two `xgw serve` processes on one PostgreSQL database (issue 13 item 5): both run a
/// forwarder for the same peer over the same outbox, and the queue's leases keep them from sending
/// one outbox message twice — the receiving node counts no duplicate, and every record arrives once.
@Suite struct FederationPostgresTests {
    static let postgresURL = ProcessInfo.processInfo.environment["XGW_TEST_POSTGRES_URL"]

    /// Not while the multi-node test stops the database server: the gate's wait (up to that test's
    /// five minutes) counts towards the time limit.
    @Test(.enabled(if: postgresURL != nil, "XGW_TEST_POSTGRES_URL is not set (.ci/run starts PostgreSQL)"), .timeLimit(.minutes(10)))
    func twoProcessesOfOneNodeNeverSendAnOutboxMessageTwice() async throws {
        try await PostgresServerGate.shared { try await Self.twoProcessesOfOneNodeNeverSendAnOutboxMessageTwice() }
    }

    static func twoProcessesOfOneNodeNeverSendAnOutboxMessageTwice() async throws {
        let alliance = try NodeAlliance()
        defer { alliance.remove() }
        let ports = ["renshi-node": try freePort(), "xinsheng-node": try freePort(), "xinsheng-node-b": try freePort()]
        let directory = try alliance.directory(serial: 7, urls: ["renshi-node": "https://127.0.0.1:\(ports["renshi-node"]!)", "xinsheng-node": "https://127.0.0.1:\(ports["xinsheng-node"]!)"])
        var configs: [String: String] = [:]
        for (name, node) in [("renshi-node", "renshi-node"), ("xinsheng-node", "xinsheng-node"), ("xinsheng-node-b", "xinsheng-node")] {
            try alliance.nodePKI(node)
            let file = try alliance.writeDirectory(directory, node: node)
            let config = alliance.folder.appendingPathComponent("\(name).yaml").path
            try alliance.configuration(node: node, directory: file, federationPort: ports[name]!).write(toFile: config, atomically: true, encoding: .utf8)
            configs[name] = config
        }
        func data(_ name: String) throws -> URL {
            let url = alliance.folder.appendingPathComponent("\(name)-data")
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            return url
        }
        let schema = "xgw_fed_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let database = try #require(Self.postgresURL) + "?schema=\(schema)&pool=4&timeout=5"

        // xinsheng-node: two processes on one database, sharing tokens (the first start made them).
        let first = try await ServerProcess.start(data: try data("xinsheng-node"), environment: ["XGW_DATABASE": database], arguments: ["--config", configs["xinsheng-node"]!])
        defer { first.killNow() }
        let xinsheng = try #require(first.printedTokens["xinsheng"])
        try FileManager.default.copyItem(
            at: try data("xinsheng-node").appendingPathComponent("tokens"), to: try data("xinsheng-node-b").appendingPathComponent("tokens"))
        let second = try await ServerProcess.start(data: try data("xinsheng-node-b"), environment: ["XGW_DATABASE": database], arguments: ["--config", configs["xinsheng-node-b"]!])
        defer { second.killNow() }
        let renshiNode = try await ServerProcess.start(data: try data("renshi-node"), arguments: ["--config", configs["renshi-node"]!])
        defer { renshiNode.killNow() }
        let renshi = try #require(renshiNode.printedTokens["renshi"])

        // Documents submitted at both processes, alternately: the outbox for renshi-node is one, in the database.
        var accepted = 0
        for round in 0..<8 {
            let server = round % 2 == 0 ? first : second
            let answer = try await HTTPClient(port: server.port).call(
                "POST", "/v1/documents", token: xinsheng, body: chongqingTraffic(tag: "pg\(round)", count: 25))
            #expect(answer.status == 200, "\(answer.text)")
            accepted += answer.json?["accepted"]?.numberValue?.intValue ?? 0
        }
        #expect(accepted == 200)

        var envelopeIds: [String] = []
        let deadline = Date().addingTimeInterval(90)
        while envelopeIds.count < accepted && Date() < deadline {
            let messages = try await HTTPClient(port: renshiNode.port).call(
                "POST", "/v1/inbox/lease", token: renshi, json: ["max": 200, "visibilitySeconds": 600]).json?["messages"]?.arrayValue ?? []
            envelopeIds += messages.compactMap { $0["envelopeId"]?.stringValue }
            if envelopeIds.count < accepted { try await Task.sleep(for: .milliseconds(250)) }
        }
        #expect(envelopeIds.count == accepted, "\(first.log.suffix(2000))")
        #expect(Set(envelopeIds).count == envelopeIds.count, "an envelope reached renshi's inbox twice")
        // What the receiving node counted per result: accepted ones, and no duplicate (a second send).
        let metrics = try await HTTPClient(port: renshiNode.port).call("GET", "/metrics").text
        let duplicates = metrics.split(separator: "\n").filter {
            $0.hasPrefix("xgw_federation_transfers_total") && $0.contains("result=\"duplicate\"")
        }
        #expect(duplicates.allSatisfy { $0.hasSuffix(" 0") }, "\(duplicates)")
        #expect(metrics.contains("xgw_federation_transfers_total{peer=\"xinsheng-node\",result=\"accepted\"} 200"), "\(metrics.split(separator: "\n").filter { $0.contains("transfers") })")
    }
}
