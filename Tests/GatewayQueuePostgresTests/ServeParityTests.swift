import Foundation
import GatewayModel
import TestSupport
import Testing

extension PostgresQueueTests {
    /// `xgw serve` answers the same on both drivers: one scenario (submit, resubmit, lease, ack
    /// accepted and rejected, a second ack, receipts, history, depths, dead letters, lease again)
    /// against a SQLite node and a PostgreSQL node, compared step by step without the values
    /// that differ by nature (ids, tokens, times, signatures).
    @Test func serveAnswersTheSameOnPostgresAsOnSQLite() async throws {
        let schema = "xgw_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let database = try #require(postgresURL) + "?schema=\(schema)"
        let sqlite = try await Self.scenario(environment: [:])
        let postgres = try await Self.scenario(environment: ["XGW_DATABASE": database])
        #expect(sqlite.count == postgres.count)
        for (step, (a, b)) in zip(sqlite, postgres).enumerated() {
            #expect(a == b, "step \(step): SQLite \(a) — PostgreSQL \(b)")
        }
        #expect(sqlite.count >= 10)
        let scratch = try await ScratchQueue.make(schema: schema)
        await scratch.stop()
    }

    /// The scenario on a fresh node; each step's answer reduced to what must not depend on the driver.
    static func scenario(environment: [String: String]) async throws -> [String] {
        let data = try ServerProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        var environment = environment
        environment["XGW_ALGORITHM"] = "ES256"
        let server = try await ServerProcess.start(data: data, environment: environment)
        defer { server.killNow() }
        let client = HTTPClient(port: server.port)
        let tokens = server.printedTokens
        let renshi = try #require(tokens["renshi"]), xinsheng = try #require(tokens["xinsheng"]), ops = try #require(tokens["ops"])
        try await MultiNode.waitUntil(30, "ready") { try await client.call("GET", "/readyz").status == 200 }
        var steps: [String] = []
        func record(_ answer: HTTPAnswer, _ projection: String) { steps.append("\(answer.status) \(projection)") }

        let batch = try fixture("sc-traffic-xml/002-batch-three-utf8.xml")
        let first = try await client.call("POST", "/v1/documents", token: renshi, body: batch)
        let records = first.json?["records"]?.arrayValue ?? []
        let ids = records.compactMap { $0["envelopeId"]?.stringValue }
        record(first, "\(records.map { "\($0["recordId"]?.stringValue ?? "") \($0["destinations"] ?? .null) \($0["duplicate"] ?? .null)" })")
        let again = try await client.call("POST", "/v1/documents", token: renshi, body: batch)
        let againIds = (again.json?["records"]?.arrayValue ?? []).compactMap { $0["envelopeId"]?.stringValue }
        record(again, "duplicates \(again.json?["duplicates"] ?? .null), same ids \(againIds == ids)")

        let lease = try await client.call("POST", "/v1/inbox/lease", token: xinsheng, json: ["max": 2, "visibilitySeconds": 60])
        let messages = lease.json?["messages"]?.arrayValue ?? []
        record(lease, "\(messages.map { "\($0["recordId"]?.stringValue ?? "") \($0["deliveryCount"] ?? .null)" })")
        guard messages.count == 2, let one = messages[0]["envelopeId"]?.stringValue, let oneToken = messages[0]["leaseToken"],
            let two = messages[1]["envelopeId"]?.stringValue, let twoToken = messages[1]["leaseToken"]
        else { return steps }
        let accepted = try await client.call("POST", "/v1/inbox/\(one)/ack", token: xinsheng, json: ["leaseToken": oneToken, "outcome": "accepted"])
        record(accepted, "\(accepted.json?["receipt"]?["receipt"]?["outcome"] ?? .null)")
        let rejected = try await client.call(
            "POST", "/v1/inbox/\(two)/ack", token: xinsheng, json: ["leaseToken": twoToken, "outcome": "rejected", "reason": "digest-mismatch"])
        record(rejected, "\(rejected.json?["receipt"]?["receipt"]?["outcome"] ?? .null)")
        let twice = try await client.call("POST", "/v1/inbox/\(one)/ack", token: xinsheng, json: ["leaseToken": oneToken, "outcome": "accepted"])
        record(twice, "\(twice.json?["error"]?["code"] ?? .null)")

        let receipts = try await client.call("GET", "/v1/receipts", token: renshi)
        record(receipts, "\((receipts.json?["receipts"]?.arrayValue ?? []).map { "\($0["recordId"]?.stringValue ?? "") \($0["outcome"]?.stringValue ?? "")" }.sorted())")
        let history = try await client.call("GET", "/v1/messages/\(two)/history", token: ops)
        record(history, "\((history.json?["history"]?.arrayValue ?? []).map { "\($0["event"]?.stringValue ?? "") \($0["deliveryCount"] ?? .null) \($0["detail"] ?? .null)" })")
        let queues = try await client.call("GET", "/v1/ops/queues", token: ops)
        let xinshengQueue = queues.json?["queues"]?.arrayValue?.first { $0["participant"] == "xinsheng" }
        record(queues, "\(["queued", "leased", "acked", "dead"].map { "\($0) \(xinshengQueue?[$0] ?? .null)" })")
        let dead = try await client.call("GET", "/v1/ops/dead-letters?participant=xinsheng", token: ops)
        record(dead, "\(dead.json?["deadLetters"]?.arrayValue?.count ?? -1)")
        let rest = try await client.call("POST", "/v1/inbox/lease", token: xinsheng, json: ["max": 10])
        record(rest, "\((rest.json?["messages"]?.arrayValue ?? []).map { $0["recordId"]?.stringValue ?? "" })")
        let unknown = try await client.call("POST", "/v1/ops/dead-letters/999999/replay", token: ops)
        record(unknown, "\(unknown.json?["error"]?["code"] ?? .null)")
        return steps
    }
}
