import Foundation
import GatewayModel
import GatewaySigning
import TestSupport
import Testing

/// Issue 16 item 15 in node mode: SIGHUP to a real `xgw serve` with a `node` section (renshi-node of
/// a real alliance, its federation listener on loopback) reloads the mappings and routes, the
/// alliance CRL and the TLS CRL, as one-node mode does, while submissions keep being answered.
@Suite struct NodeHangupReloadTests {
    /// renshi's three traffic records of the shipped fixture, with record ids unique to `serial`.
    static func sichuanTraffic(serial: Int) throws -> [UInt8] {
        let text = String(decoding: try fixture("sc-traffic-xml/002-batch-three-utf8.xml"), as: UTF8.self)
        let unique = text.replacingOccurrences(of: "<xh>51172300002000", with: "<xh>511723" + String(format: "%08d", serial))
        return Array(unique.utf8)
    }

    static func queued(_ client: HTTPClient, _ token: String) async throws -> Int {
        try await client.call("GET", "/v1/inbox", token: token).json?["queued"]?.numberValue?.intValue ?? -1
    }

    /// Polls `body` until it holds (true) or `seconds` passed (false): generous, for a loaded CI.
    static func eventually(seconds: Double = 90, _ body: () async throws -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            if try await body() { return true }
            try await Task.sleep(for: .milliseconds(200))
        } while Date() < deadline
        return false
    }

    /// Replaces `path` with `source`'s bytes and gives it back the modification time `stamp`, so
    /// that the server's look at modification times sees no change: only SIGHUP makes it read.
    static func replace(_ path: String, with source: String, keeping stamp: Date) throws {
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.copyItem(atPath: source, toPath: path)
        try FileManager.default.setAttributes([.modificationDate: stamp], ofItemAtPath: path)
    }

    @Test func sighupReloadsRoutesAndBothCRLsOfANodeWhileRequestsAreAnswered() async throws {
        let nodes = try TwoNodes()
        defer { nodes.remove() }
        let alliance = nodes.alliance
        let mappings = alliance.folder.appendingPathComponent("mappings-copy")
        try FileManager.default.copyItem(at: ServerProcess.repositoryRoot.appendingPathComponent("Mappings"), to: mappings)
        nodes.extraConfiguration = "mappings: \(mappings.path)\nseeds: \(ServerProcess.repositoryRoot.appendingPathComponent("seeds").path)\n"
        // Both CRLs the node holds get a whole second as modification time, which setting it again gives back exactly.
        let pki = PKIDirectory(path: alliance.folder.appendingPathComponent("renshi-node/pki").path)
        let stamp = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 - 60).rounded(.down))
        for path in [pki.crlPath, pki.tlsCRLPath] {
            try #require(FileManager.default.fileExists(atPath: path), "\(path)")
            try FileManager.default.setAttributes([.modificationDate: stamp], ofItemAtPath: path)
        }
        let server = try await nodes.start("renshi-node")
        let client = nodes.client("renshi-node")
        let renshi = nodes.token("renshi-node", "renshi"), kaijiang = nodes.token("renshi-node", "kaijiang")
        let pid = server.process.processIdentifier

        // The shipped rule: renshi's traffic goes to xinsheng (another node's), nothing to kaijiang.
        var answer = try await client.call("POST", "/v1/documents", token: renshi, body: try Self.sichuanTraffic(serial: 1))
        #expect(answer.status == 200, "\(answer.text)")
        #expect(try await Self.queued(client, kaijiang) == 0)

        // New rule: renshi's traffic to kaijiang (hosted here); SIGHUP; the next records go there.
        let routesFile = mappings.appendingPathComponent("routes.yaml")
        try #require(try HangupTesting.rerouteTraffic(in: routesFile, submitter: "renshi", from: "xinsheng", to: "kaijiang") != nil)
        kill(pid, SIGHUP)
        #expect(try await Self.eventually { server.log.contains("SIGHUP: reloaded the mappings and routes") }, "\(server.log.suffix(2000))")
        answer = try await client.call("POST", "/v1/documents", token: renshi, body: try Self.sichuanTraffic(serial: 2))
        #expect(answer.status == 200, "\(answer.text)")
        #expect(try await Self.queued(client, kaijiang) == 3, "the new route")

        // Submissions in flight while SIGHUP reloads five times are all answered, and all by the new rule.
        let statuses = try await HangupTesting.statusesDuringHangups(pid: pid, count: 20) { i in
            try await client.call("POST", "/v1/documents", token: renshi, body: try Self.sichuanTraffic(serial: 100 + i)).status
        }
        #expect(statuses.count == 20 && statuses.allSatisfy { $0 == 200 }, "\(statuses)")
        #expect(server.process.isRunning, "SIGHUP must not stop a node: \(server.log.suffix(2000))")
        #expect(try await Self.queued(client, kaijiang) == 3 + 60)
        #expect(try await client.call("GET", "/healthz").json?["directorySerial"]?.numberValue?.intValue == 7)

        // xinsheng-node's certificate passes renshi-node's TLS handshake.
        func federationHandshake() throws -> Int {
            try curlFederation(
                port: nodes.ports["renshi-node"]!, path: "/v1/federation/health",
                certificate: alliance.alliance.nodeCertificatePath("xinsheng-node"), key: alliance.alliance.nodeKeyPath("xinsheng-node"),
                root: alliance.alliance.tlsCACertificatePath
            ).status
        }
        #expect(try federationHandshake() == 200)

        // The alliance revokes renshi's signing certificate and xinsheng-node's TLS certificate; the
        // new CRLs reach renshi-node with the old modification times, and SIGHUP makes it read them.
        try alliance.alliance.revoke(serial: try Certificate(file: pki.officeCertificatePath("renshi")).serial)
        try alliance.alliance.revoke(serial: try Certificate(file: alliance.alliance.nodeCertificatePath("xinsheng-node")).serial)
        try Self.replace(pki.crlPath, with: alliance.alliance.crlPath, keeping: stamp)
        try Self.replace(pki.tlsCRLPath, with: alliance.alliance.tlsCRLPath, keeping: stamp)
        kill(pid, SIGHUP)
        #expect(try await Self.eventually { server.log.contains("SIGHUP: re-read the TLS root and CRL") }, "\(server.log.suffix(2000))")
        let refused = try await Self.eventually {
            let answer = try await client.call("POST", "/v1/documents", token: renshi, body: try Self.sichuanTraffic(serial: 3))
            return answer.status == 409 && answer.json?["error"]?["code"] == "revoked-certificate"
        }
        #expect(refused, "renshi's revoked certificate must no longer sign: \(server.log.suffix(2000))")
        #expect(try await Self.eventually { try federationHandshake() == 0 }, "a revoked node certificate must fail the handshake")
        #expect(server.process.isRunning)
    }
}
