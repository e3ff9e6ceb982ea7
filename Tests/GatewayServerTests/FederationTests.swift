import Foundation
import GatewayFederation
import GatewayModel
import GatewaySigning
import Testing
import TestSupport

/// Two nodes as separate `xgw serve` processes on loopback (issue 13, items 4 and 5): each with its
/// own data folder and only its own keys, exchanging envelopes and receipts over mutual TLS.
@Suite(.serialized) struct FederationTests {
    /// Leases at `node` as `participant` until `count` messages came (or the deadline: generous, for
    /// a full parallel test run on two cores).
    static func lease(_ nodes: TwoNodes, _ node: String, _ participant: String, count: Int, seconds: Double = 90) async throws -> [JSONValue] {
        var got: [JSONValue] = []
        let deadline = Date().addingTimeInterval(seconds)
        while got.count < count && Date() < deadline {
            let answer = try await nodes.client(node).call(
                "POST", "/v1/inbox/lease", token: nodes.token(node, participant), json: ["max": 100, "visibilitySeconds": 300])
            got += answer.json?["messages"]?.arrayValue ?? []
            if got.count < count { try await Task.sleep(for: .milliseconds(200)) }
        }
        return got
    }

    @Test func envelopesAndReceiptsTravelBothWaysBetweenTwoNodes() async throws {
        let nodes = try TwoNodes()
        defer { nodes.remove() }
        try await nodes.start("renshi-node")
        try await nodes.start("xinsheng-node")

        // Sichuan → Chongqing: a Sichuan document submitted at renshi-node lands in xinsheng's inbox.
        let accepted = try await nodes.submitFixture()
        let messages = try await Self.lease(nodes, "xinsheng-node", "xinsheng", count: accepted)
        #expect(messages.count == accepted, "\(nodes.servers["renshi-node"]!.log.suffix(3000))")

        // The envelope verifies against the alliance root alone.
        let trust = try TrustStore(rootsFile: nodes.alliance.alliance.caCertificatePath)
        for message in messages {
            let envelope = try Envelope(json: message["envelope"]!)
            #expect(envelope.from == "renshi")
            if case .failure(let failure) = envelope.verify(trust: trust) { Issue.record("\(failure)") }
        }

        // The ack at xinsheng-node makes a receipt signed by xinsheng that reaches renshi-node.
        for message in messages {
            let id = message["envelopeId"]!.stringValue!
            let ack = try await nodes.client("xinsheng-node").call(
                "POST", "/v1/inbox/\(id)/ack", token: nodes.token("xinsheng-node", "xinsheng"),
                json: ["leaseToken": message["leaseToken"]!, "outcome": "accepted"])
            #expect(ack.status == 200, "\(ack.text)")
        }
        var receipts: [JSONValue] = []
        let deadline = Date().addingTimeInterval(90)
        while receipts.count < accepted && Date() < deadline {
            receipts = try await nodes.client("renshi-node").call("GET", "/v1/receipts", token: nodes.token("renshi-node", "renshi"))
                .json?["receipts"]?.arrayValue ?? []
            if receipts.count < accepted { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(receipts.count == accepted, "\(nodes.servers["xinsheng-node"]!.log.suffix(3000))")
        for receipt in receipts {
            let signed = try Receipt(json: receipt["receipt"]!)
            #expect(signed.by == "xinsheng")
            if case .failure(let failure) = signed.verify(trust: trust) { Issue.record("\(failure)") }
        }

        // Chongqing → Sichuan.
        let back = try await nodes.client("xinsheng-node").call(
            "POST", "/v1/documents", token: nodes.token("xinsheng-node", "xinsheng"), body: chongqingTraffic(tag: "fed", count: 3))
        #expect(back.status == 200, "\(back.text)")
        let arrived = try await Self.lease(nodes, "renshi-node", "renshi", count: 3)
        #expect(arrived.count == 3)

        // Ops see each peer.
        let peers = try await nodes.client("renshi-node").call("GET", "/v1/ops/peers", token: nodes.token("renshi-node", "ops"))
        #expect(peers.json?["peers"]?["xinsheng-node"]?["outboxDepth"]?.numberValue?.intValue == 0, "\(peers.text)")
    }

    @Test func thePeerDownMakesTheOutboxGrowAndItDrainsWhenThePeerReturns() async throws {
        let nodes = try TwoNodes()
        defer { nodes.remove() }
        try await nodes.start("renshi-node")
        // xinsheng-node is not running: the outbox grows, nothing is lost.
        let accepted = try await nodes.submitFixture()
        let renshi = nodes.servers["renshi-node"]!
        // Polled until the forwarder has tried the peer (a fixed second was too short under load).
        var peers: HTTPAnswer
        let deadline = Date().addingTimeInterval(90)
        repeat {
            try await Task.sleep(for: .milliseconds(200))
            #expect(renshi.process.isRunning, "\(renshi.log.suffix(4000))")
            do {
                peers = try await nodes.client("renshi-node").call("GET", "/v1/ops/peers", token: nodes.token("renshi-node", "ops"))
            } catch {
                let log = renshi.log
                let crash = log.range(of: "Fatal error").map { String(log[$0.lowerBound...].prefix(6000)) } ?? String(log.prefix(6000))
                Issue.record("\(error): \(crash)")
                return
            }
        } while peers.json?["peers"]?["xinsheng-node"]?["lastError"]?.stringValue == nil && Date() < deadline
        #expect(peers.json?["peers"]?["xinsheng-node"]?["outboxDepth"]?.numberValue?.intValue == accepted, "\(peers.text)")
        #expect(peers.json?["peers"]?["xinsheng-node"]?["lastError"]?.stringValue != nil, "\(peers.text)")

        try await nodes.start("xinsheng-node")
        let messages = try await Self.lease(nodes, "xinsheng-node", "xinsheng", count: accepted, seconds: 60)
        #expect(messages.count == accepted, "\(nodes.servers["renshi-node"]!.log.suffix(3000))")
    }

    @Test func aNodeCertificateNotPinnedByTheDirectoryIsRefused() async throws {
        let nodes = try TwoNodes()
        defer { nodes.remove() }
        try await nodes.start("renshi-node")
        try await nodes.start("xinsheng-node")
        // A third certificate from the same TLS root, for a node the directory does not list.
        let rogue = try nodes.alliance.alliance.issueNode(nodeID: "rogue-node", names: SubjectAltNames(ipAddresses: ["127.0.0.1"]), days: 1)
        _ = rogue
        let answer = try curlFederation(
            port: nodes.ports["renshi-node"]!, path: "/v1/federation/health",
            certificate: nodes.alliance.alliance.nodeCertificatePath("rogue-node"), key: nodes.alliance.alliance.nodeKeyPath("rogue-node"),
            root: nodes.alliance.alliance.tlsCACertificatePath)
        #expect(answer.status == 403, "\(answer.body)")
        #expect(answer.body.contains("unknown-node"), "\(answer.body)")
        // A pinned peer gets an answer.
        let pinned = try curlFederation(
            port: nodes.ports["renshi-node"]!, path: "/v1/federation/health",
            certificate: nodes.alliance.alliance.nodeCertificatePath("xinsheng-node"),
            key: nodes.alliance.alliance.nodeKeyPath("xinsheng-node"), root: nodes.alliance.alliance.tlsCACertificatePath)
        #expect(pinned.status == 200, "\(pinned.body)")
        // No client certificate: the handshake fails.
        let anonymous = try curlFederation(
            port: nodes.ports["renshi-node"]!, path: "/v1/federation/health", certificate: nil, key: nil,
            root: nodes.alliance.alliance.tlsCACertificatePath)
        #expect(anonymous.status == 0)
    }

    @Test func aRevokedNodeCertificateFailsTheHandshake() async throws {
        let nodes = try TwoNodes()
        defer { nodes.remove() }
        // xinsheng-node's certificate revoked in the TLS CRL that renshi-node holds.
        let certificate = try Certificate(file: nodes.alliance.alliance.nodeCertificatePath("xinsheng-node"))
        try nodes.alliance.alliance.revoke(serial: certificate.serial)
        let renshiPKI = try nodes.alliance.nodePKI("renshi-node")
        try? FileManager.default.removeItem(atPath: renshiPKI.tlsCRLPath)
        try FileManager.default.copyItem(atPath: nodes.alliance.alliance.tlsCRLPath, toPath: renshiPKI.tlsCRLPath)
        try await nodes.start("renshi-node")
        let answer = try curlFederation(
            port: nodes.ports["renshi-node"]!, path: "/v1/federation/health",
            certificate: nodes.alliance.alliance.nodeCertificatePath("xinsheng-node"),
            key: nodes.alliance.alliance.nodeKeyPath("xinsheng-node"), root: nodes.alliance.alliance.tlsCACertificatePath)
        #expect(answer.status == 0, "a revoked node certificate must fail the handshake: \(answer.body)")
    }
}
