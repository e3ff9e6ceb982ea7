import Foundation
import GatewayModel
import GatewayServer
import Synchronization
import TestSupport
import Testing

/// What needs a real `xgw serve` process (SIGKILL mid-load, SIGTERM and SIGINT) runs one; the rest
/// runs the same application in process (`APIGateway`), restarts included: a restart is a new
/// gateway on the same data folder.
@Suite(.serialized)
struct RecoveryTests {
    static let environment = ["XGW_ALGORITHM": "ES256"]

    /// The first start on a fresh data folder, with the two offices' tokens it printed.
    static func firstStart(_ data: URL) async throws -> (ServerProcess, xinsheng: String, renshi: String) {
        let server = try await ServerProcess.start(data: data, environment: environment)
        let tokens = server.printedTokens
        return (server, try #require(tokens["xinsheng"]), try #require(tokens["renshi"]))
    }

    /// SIGKILL in the middle of a load of submissions: after a restart on the same data, every
    /// submission that got a success answer is delivered, none twice; resubmitting one answers the
    /// same envelope ids.
    @Test func killedMidLoadDeliversEveryAcceptedSubmissionOnce() async throws {
        let data = try ServerProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let (server, xinsheng, renshi) = try await Self.firstStart(data)
        let client = HTTPClient(port: server.port)

        let accepted = Locked<[String: [String]]>([:])  // tag → envelope ids answered 200
        let attempts = Locked(0)
        // The kill lands mid-load: once 100 submissions are answered (the 8 workers still sending), or after 60 s.
        let killer = Task.detached {
            let deadline = ContinuousClock.now + .seconds(60)
            while accepted.withLock({ $0.count }) < 100, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            await server.stop(signal: SIGKILL)
        }
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    for n in 0..<400 {
                        let tag = "W\(worker)N\(n)"
                        attempts.withLock { $0 += 1 }
                        guard let answer = try? await client.call("POST", "/v1/documents", token: xinsheng, body: chongqingTraffic(tag: tag, count: 5))
                        else { return }
                        guard answer.status == 200 else { return }
                        let ids = (answer.json?["records"]?.arrayValue ?? []).compactMap { $0["envelopeId"]?.stringValue }
                        accepted.withLock { $0[tag] = ids }
                    }
                }
            }
        }
        try await killer.value
        let answered = accepted.withLock { $0 }
        #expect(answered.count > 5, "load before the kill: \(answered.count) answered of \(attempts.withLock { $0 }) attempts")
        #expect(answered.values.allSatisfy { $0.count == 5 })

        // The restart: a new gateway on the killed server's data folder.
        try await APIGateway(data: data, environment: Self.environment).run { client2, restarted in
            #expect(restarted.createdTokens.isEmpty, "tokens are created once")
            try await Self.deliverOnce(answered, client2, xinsheng: xinsheng, renshi: renshi)
        }
    }

    /// After the restart: every `answered` envelope is delivered to renshi once, and resubmitting
    /// an answered document gives its envelope ids again.
    static func deliverOnce(_ answered: [String: [String]], _ client2: APIClient, xinsheng: String, renshi: String) async throws {
        var delivered: [String: Int] = [:]
        while true {
            let lease = try await client2.call("POST", "/v1/inbox/lease", token: renshi, json: ["max": 1000, "visibilitySeconds": 600])
            #expect(lease.status == 200)
            let messages = lease.json?["messages"]?.arrayValue ?? []
            if messages.isEmpty { break }
            for m in messages { delivered[m["envelopeId"]?.stringValue ?? "", default: 0] += 1 }
        }
        let expected = Set(answered.values.flatMap { $0 })
        #expect(expected.isSubset(of: Set(delivered.keys)), "\(expected.subtracting(delivered.keys).count) accepted envelopes lost")
        #expect(delivered.values.allSatisfy { $0 == 1 }, "a message was delivered twice")
        // Resubmitting an answered document gives the same envelope ids.
        let (tag, ids) = try #require(answered.first)
        let again = try await client2.call("POST", "/v1/documents", token: xinsheng, body: chongqingTraffic(tag: tag, count: 5))
        #expect((again.json?["records"]?.arrayValue ?? []).compactMap { $0["envelopeId"]?.stringValue } == ids)
        #expect(again.json?["duplicates"] == 5)
    }

    /// `xgw serve` prints the tokens it creates on first start, serves, and stops cleanly (status 0,
    /// "stopped") on SIGTERM; a restart creates no tokens and stops cleanly on SIGINT. Its log on
    /// standard error names requests by id and carries no personal data.
    @Test func serveStopsCleanlyOnSIGTERMAndSIGINT() async throws {
        let data = try ServerProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let (server, xinsheng, _) = try await Self.firstStart(data)
        #expect(server.printedTokens["ops"] != nil && server.printedTokens.count == 8, "\(server.printedTokens.keys.sorted())")
        let submitted = try await HTTPClient(port: server.port).call(
            "POST", "/v1/documents", token: xinsheng, body: chongqingTraffic(tag: "SIG", count: 1))
        #expect(submitted.status == 200, "\(submitted.text)")
        #expect(await server.stop(signal: SIGTERM) == 0)
        #expect(server.stdout.contains("stopped"))
        let log = server.log
        #expect(log.contains("requestId"))
        for secret in ["500228199001011235", "李四"] {
            #expect(!log.contains(secret), "the log must not carry personal data")
        }

        let restarted = try await ServerProcess.start(data: data, environment: Self.environment)
        #expect(restarted.printedTokens.isEmpty, "tokens are created once")
        #expect(await restarted.stop(signal: SIGINT) == 0)
        #expect(restarted.stdout.contains("stopped"))
    }

    /// 413 before the body is read whole; the configuration file and environment overrides.
    /// Over a real loopback socket (`.live`): the HTTP server's request head and body, then the refusal.
    @Test func oversizedBodiesAreRefusedWith413() async throws {
        let gateway = try APIGateway.temporary { data in
            let config = data.appendingPathComponent("xgw.yaml")
            try "maxBodyBytes: 4096\nalgorithm: Ed25519\nretry: { maxDeliveries: 3 }\n".write(to: config, atomically: true, encoding: .utf8)
            return config.path
        }
        defer { gateway.remove() }
        try await gateway.run(.live) { client, server in
            let tokens = server.tokensByName
            let token = try #require(tokens["xinsheng"])
            let big = chongqingTraffic(tag: "BIG", count: 20)
            #expect(big.count > 4096)
            let refused = try await client.call("POST", "/v1/documents", token: token, body: big)
            #expect(refused.status == 413)
            #expect(refused.json?["error"]?["code"] == "body-too-large")
            let small = try await client.call("POST", "/v1/documents", token: token, body: chongqingTraffic(tag: "SMALL", count: 1))
            #expect(small.status == 200, "\(small.text)")
            let participants = try await client.call("GET", "/v1/ops/participants", token: tokens["ops"])
            #expect(participants.json?["participants"]?.arrayValue?.first?["certificate"]?["algorithm"] == "Ed25519")
        }
    }

    @Test func configurationFileAndEnvironment() throws {
        let data = try ServerProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let file = data.appendingPathComponent("c.yaml").path
        try """
            listen: 0.0.0.0
            port: 9090
            data: /srv/xgw
            database: sqlite:/srv/xgw/db.sqlite
            retry: { baseDelaySeconds: 2, maxDeliveries: 5 }
            retentionDays: 7
            """.write(toFile: file, atomically: true, encoding: .utf8)
        let c = try ServerConfiguration.load(file: file, environment: ["XGW_PORT": "7070", "XGW_ALGORITHM": "ES256"])
        #expect(c.listen == "0.0.0.0" && c.port == 7070 && c.dataDirectory == "/srv/xgw")
        #expect(try c.sqlitePath() == "/srv/xgw/db.sqlite")
        #expect(c.retry.baseDelay == 2 && c.retry.maxDeliveries == 5 && c.retentionDays == 7)
        #expect(c.algorithm == .es256)
        let defaults = try ServerConfiguration.load(file: nil, environment: [:])
        #expect(defaults.port == 8080 && defaults.listen == "127.0.0.1" && defaults.algorithm == .sm2sm3)
        #expect(try defaults.sqlitePath() == "./data/xgw.sqlite" && defaults.tokensPath == "./data/tokens")
        try "colour: blue\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(throws: ServerConfigurationError.self) { try ServerConfiguration.load(file: file, environment: [:]) }
        #expect(throws: ServerConfigurationError.self) { try ServerConfiguration.load(file: nil, environment: ["XGW_DATABASE": "mysql://x"]) }
        #expect(throws: ServerConfigurationError.self) { try ServerConfiguration.load(file: nil, environment: ["XGW_DATABASE": "postgres://x/db?pool=0"]) }
        // postgres:// selects the PostgreSQL driver; the password never shows in the description.
        let pg = try ServerConfiguration.load(file: nil, environment: ["XGW_DATABASE": "postgres://gw:s3cret@db:6543/xgw?schema=office"])
        guard case .postgres(let settings) = try pg.queueDatabase() else { Issue.record("not PostgreSQL"); return }
        #expect(settings.host == "db" && settings.port == 6543 && settings.schema == "office" && settings.password == "s3cret")
        #expect(!pg.databaseDescription.contains("s3cret") && pg.databaseDescription.contains("db:6543"))
        #expect(throws: ServerConfigurationError.self) { try pg.sqlitePath() }
        #expect(throws: ServerConfigurationError.self) { try ServerConfiguration.load(file: nil, environment: ["XGW_ALGORITHM": "RSA"]) }
    }

    @Test func tokensAreStoredHashedAndMatchedExactly() throws {
        let data = try ServerProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let path = data.appendingPathComponent("tokens").path
        let (store, created) = try TokenStore.bootstrap(path: path, participants: ["renshi", "xinsheng"])
        #expect(created.map(\.0) == ["ops", "renshi", "xinsheng"])
        let renshi = try #require(created.first { $0.0 == "renshi" }?.1)
        #expect(store.principal(token: renshi) == .participant("renshi"))
        #expect(store.principal(token: created[0].1) == .ops)
        #expect(store.principal(token: renshi + "x") == nil)
        #expect(store.principal(token: "") == nil)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(!text.contains(renshi))
        let (reloaded, again) = try TokenStore.bootstrap(path: path, participants: ["renshi", "xinsheng"])
        #expect(again.isEmpty)
        #expect(reloaded.principal(token: renshi) == .participant("renshi"))
    }

    /// A lease outlives the node that granted it: after a restart (or on another node of one
    /// database) the ack still settles it and answers the receipt, since the queue finds the lease
    /// by its token; an unknown token and a token of another inbox stay 409.
    @Test func leaseGrantedBeforeARestartIsAcknowledgedAfterIt() async throws {
        let gateway = try APIGateway.temporary(environment: Self.environment)
        defer { gateway.remove() }
        let (xinsheng, renshi, messages) = try await gateway.run { client, server in
            let tokens = server.tokensByName
            let xinsheng = try #require(tokens["xinsheng"]), renshi = try #require(tokens["renshi"])
            let submitted = try await client.call("POST", "/v1/documents", token: xinsheng, body: chongqingTraffic(tag: "R", count: 2))
            #expect(submitted.status == 200)
            let lease = try await client.call("POST", "/v1/inbox/lease", token: renshi, json: ["max": 10, "visibilitySeconds": 600])
            return (xinsheng, renshi, lease.json?["messages"]?.arrayValue ?? [])
        }
        try #require(messages.count == 2)
        // The restart: a new gateway on the same data folder.
        try await APIGateway(data: gateway.data, environment: Self.environment).run { client2, _ in
            try await Self.settle(messages, client2, xinsheng: xinsheng, renshi: renshi)
        }
    }

    /// Acks the first of two leased `messages` after the restart: only renshi's token of that lease settles it, once.
    static func settle(_ messages: [JSONValue], _ client2: APIClient, xinsheng: String, renshi: String) async throws {
        let first = messages[0], second = messages[1]
        let envelopeId = try #require(first["envelopeId"]?.stringValue), token = try #require(first["leaseToken"]?.stringValue)
        let foreign = try await client2.call(
            "POST", "/v1/inbox/\(envelopeId)/ack", token: xinsheng, json: ["leaseToken": .string(token), "outcome": "accepted"])
        #expect(foreign.status == 409, "another inbox's lease token")
        let unknown = try await client2.call(
            "POST", "/v1/inbox/\(envelopeId)/ack", token: renshi, json: ["leaseToken": "00000000-0000-4000-8000-000000000000", "outcome": "accepted"])
        #expect(unknown.status == 409)
        let mismatch = try await client2.call(
            "POST", "/v1/inbox/\(envelopeId)/ack", token: renshi,
            json: ["leaseToken": .string(try #require(second["leaseToken"]?.stringValue)), "outcome": "accepted"])
        #expect(mismatch.status == 409, "a token of another envelope")
        let ack = try await client2.call(
            "POST", "/v1/inbox/\(envelopeId)/ack", token: renshi, json: ["leaseToken": .string(token), "outcome": "accepted"])
        #expect(ack.status == 200)
        #expect(ack.json?["receipt"]?["receipt"]?["envelopeId"]?.stringValue == envelopeId)
        #expect(ack.json?["receipt"]?["receipt"]?["by"]?.stringValue == "renshi")
        let again = try await client2.call(
            "POST", "/v1/inbox/\(envelopeId)/ack", token: renshi, json: ["leaseToken": .string(token), "outcome": "accepted"])
        // Settled once: a repeat (a lost answer) gets the same receipt back, nothing new is stored (issue 16 item 4).
        #expect(again.status == 200, "\(again.text)")
        #expect(again.json?["receipt"] == ack.json?["receipt"], "the repeat answers the stored receipt")
    }
}
