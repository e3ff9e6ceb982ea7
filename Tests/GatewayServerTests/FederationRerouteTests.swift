import Foundation
import GatewayFederation
import GatewayModel
import GatewayServer
import GatewaySigning
import Testing
import TestSupport

/// Re-routing (federation.md, Store and forward: "`rejected` makes it a dead letter ... except
/// `not-hosted-here` from a peer with a newer directory, which re-routes"), with real nodes as
/// separate `xgw serve` processes: a directory with a higher serial, signed by the root, moves xinsheng
/// away from xinsheng-node and reaches xinsheng-node first; renshi-node, still on the older one, sends
/// there, is answered `not-hosted-here` with the newer serial, adopts it and re-routes (or, when no
/// node hosts the recipient any more, makes a dead letter with the reason).
@Suite(.serialized) struct FederationRerouteTests {
    static let moved = "xinsheng"

    /// Polls `/healthz` at `port` until the node holds directory `serial` (true) or 90 s passed (a full parallel CI run once kept a node from answering it within 30 s).
    static func reaches(_ port: Int, serial: Int) async throws -> Bool {
        let deadline = Date().addingTimeInterval(90)
        repeat {
            if try await HTTPClient(port: port).call("GET", "/healthz").json?["directorySerial"]?.numberValue?.intValue == serial { return true }
            try await Task.sleep(for: .milliseconds(200))
        } while Date() < deadline
        return false
    }

    /// Takes xinsheng's key off xinsheng-node (a node gives up a participant's key before the
    /// directory gives the participant away) and writes `directory` to its file (picked up within 2 s).
    static func moveXinshengAway(_ alliance: NodeAlliance, directory: [UInt8]) throws {
        let pki = PKIDirectory(path: alliance.folder.appendingPathComponent("xinsheng-node").appendingPathComponent("pki").path)
        try FileManager.default.removeItem(atPath: pki.officeKeyPath(moved))
        try alliance.writeDirectory(directory, node: "xinsheng-node")
    }

    /// Three nodes: serial 7 gives xinsheng to xinsheng-node (fuling-node hosts nobody), serial 8
    /// gives it to fuling-node. xinsheng-node and fuling-node hold 8, renshi-node 7. A Sichuan
    /// document submitted at renshi-node goes to xinsheng-node's outbox, is refused there as
    /// `not-hosted-here` (serial 8), and lands, the same signed envelopes, in xinsheng's inbox at
    /// fuling-node; the receipts of the acks there come back to renshi-node.
    @Test func aNotHostedHereFromAPeerWithANewerDirectoryReroutesToTheNodeNowHostingTheRecipient() async throws {
        let alliance = try NodeAlliance()
        defer { alliance.remove() }
        let third = "fuling-node"
        try alliance.alliance.issueNode(nodeID: third, names: SubjectAltNames(dnsNames: ["\(third).example"]), days: 30)
        let names = ["renshi-node", "xinsheng-node", third]
        var ports: [String: Int] = [:]
        for name in names { ports[name] = try freePort() }
        let urls = ports.mapValues { "https://127.0.0.1:\($0)" }
        let before = [
            "renshi-node": NodeAlliance.hosts["renshi-node"]!, "xinsheng-node": NodeAlliance.hosts["xinsheng-node"]!, third: [String](),
        ]
        var after = before
        after["xinsheng-node"] = before["xinsheng-node"]!.filter { $0 != Self.moved }
        after[third] = [Self.moved]
        let serial7 = try alliance.directory(serial: 7, hosts: before, urls: urls)
        let serial8 = try alliance.directory(serial: 8, hosts: after, urls: urls)
        try alliance.nodePKI("renshi-node")
        try alliance.nodePKI("xinsheng-node")
        try alliance.nodePKI(third, participants: [Self.moved])

        var servers: [String: ServerProcess] = [:]
        defer { for server in servers.values { server.killNow() } }
        func start(_ node: String, _ directory: [UInt8]) async throws {
            let file = try alliance.writeDirectory(directory, node: node)
            let config = alliance.folder.appendingPathComponent("\(node).yaml").path
            try alliance.configuration(node: node, directory: file, federationPort: ports[node]!).write(toFile: config, atomically: true, encoding: .utf8)
            let data = alliance.folder.appendingPathComponent("\(node)-data")
            try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
            servers[node] = try await ServerProcess.start(data: data, arguments: ["--config", config])
        }
        try await start("renshi-node", serial7)
        try await start("xinsheng-node", serial7)
        try await start(third, serial8)
        func client(_ node: String) -> HTTPClient { HTTPClient(port: servers[node]!.port) }
        func logs() -> String { names.map { "\($0): \(servers[$0]!.log.suffix(2500))" }.joined(separator: "\n") }

        // The newer directory reaches xinsheng-node; renshi-node still holds 7.
        try Self.moveXinshengAway(alliance, directory: serial8)
        #expect(try await Self.reaches(servers["xinsheng-node"]!.port, serial: 8), "\(servers["xinsheng-node"]!.log.suffix(3000))")
        #expect(try await client("renshi-node").call("GET", "/healthz").json?["directorySerial"]?.numberValue?.intValue == 7)

        let submitted = try await client("renshi-node").call(
            "POST", "/v1/documents", token: servers["renshi-node"]!.printedTokens["renshi"], body: try fixture("sc-traffic-xml/001-formats-example-gbk.xml"))
        #expect(submitted.status == 200, "\(submitted.text)")
        let accepted = submitted.json?["accepted"]?.numberValue?.intValue ?? 0
        #expect(accepted > 0, "\(submitted.text)")

        // The same signed envelopes land in xinsheng's inbox at fuling-node, once each.
        let xinsheng = try #require(servers[third]!.printedTokens[Self.moved], "fuling-node hosts xinsheng under serial 8")
        var messages: [JSONValue] = []
        let deadline = Date().addingTimeInterval(90)
        while messages.count < accepted && Date() < deadline {
            let answer = try await client(third).call("POST", "/v1/inbox/lease", token: xinsheng, json: ["max": 100, "visibilitySeconds": 600])
            messages += answer.json?["messages"]?.arrayValue ?? []
            if messages.count < accepted { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(messages.count == accepted, "\(logs())")
        let trust = try TrustStore(rootsFile: alliance.alliance.caCertificatePath)
        for message in messages {
            let envelope = try Envelope(json: message["envelope"]!)
            #expect(envelope.from == "renshi" && envelope.to == [Self.moved])
            #expect(envelope.id == message["envelopeId"]?.stringValue, "the envelope id is the original one")
            if case .failure(let failure) = envelope.verify(trust: trust) { Issue.record("\(failure)") }
        }
        #expect(Set(messages.compactMap { $0["envelopeId"]?.stringValue }).count == accepted, "no envelope twice")

        // renshi-node adopted serial 8 from its peer's answer, and its outbox towards
        // xinsheng-node is settled (re-routed), not dead.
        #expect(try await client("renshi-node").call("GET", "/healthz").json?["directorySerial"]?.numberValue?.intValue == 8)
        let peers = try await client("renshi-node").call("GET", "/v1/ops/peers", token: servers["renshi-node"]!.printedTokens["ops"])
        #expect(peers.json?["peers"]?["xinsheng-node"]?["outboxDepth"]?.numberValue?.intValue == 0, "\(peers.text)")
        #expect(peers.json?["peers"]?["xinsheng-node"]?["deadLetters"]?.numberValue?.intValue == 0, "\(peers.text)")
        #expect(servers["renshi-node"]!.log.contains("re-routed an envelope a peer does not host any more"), "\(logs())")

        // The acks at fuling-node make receipts signed by xinsheng that come back to renshi-node.
        for message in messages {
            let ack = try await client(third).call(
                "POST", "/v1/inbox/\(message["envelopeId"]!.stringValue!)/ack", token: xinsheng,
                json: ["leaseToken": message["leaseToken"]!, "outcome": "accepted"])
            #expect(ack.status == 200, "\(ack.text)")
        }
        var receipts: [JSONValue] = []
        let receiptsDeadline = Date().addingTimeInterval(60)
        while receipts.count < accepted && Date() < receiptsDeadline {
            receipts = try await client("renshi-node").call("GET", "/v1/receipts", token: servers["renshi-node"]!.printedTokens["renshi"])
                .json?["receipts"]?.arrayValue ?? []
            if receipts.count < accepted { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(receipts.count == accepted, "\(logs())")
        for receipt in receipts {
            let signed = try Receipt(json: receipt["receipt"]!)
            #expect(signed.by == Self.moved)
            if case .failure(let failure) = signed.verify(trust: trust) { Issue.record("\(failure)") }
        }
        // Nothing more arrives at fuling-node (each envelope was sent there once and taken once).
        let again = try await client(third).call("POST", "/v1/inbox/lease", token: xinsheng, json: ["max": 100, "visibilitySeconds": 600])
        #expect(again.json?["messages"]?.arrayValue?.isEmpty == true, "\(again.text)")
    }

    /// Two nodes: serial 8 gives xinsheng to no node. renshi-node, answered `not-hosted-here` with
    /// serial 8, adopts it and finds nobody to re-route to: the outbox messages are dead letters
    /// with that reason, and a new submission to xinsheng is refused at the sender (`no-route`).
    @Test func aNotHostedHereWhenNoNodeHostsTheRecipientAnyMoreIsADeadLetterWithTheReason() async throws {
        let nodes = try TwoNodes()
        defer { nodes.remove() }
        try await nodes.start("renshi-node")
        try await nodes.start("xinsheng-node")
        var hosts = NodeAlliance.hosts
        hosts["xinsheng-node"] = hosts["xinsheng-node"]!.filter { $0 != Self.moved }
        let urls = nodes.ports.mapValues { "https://127.0.0.1:\($0)" }
        try Self.moveXinshengAway(nodes.alliance, directory: try nodes.alliance.directory(serial: 8, hosts: hosts, urls: urls))
        #expect(try await Self.reaches(nodes.servers["xinsheng-node"]!.port, serial: 8), "\(nodes.servers["xinsheng-node"]!.log.suffix(3000))")

        let accepted = try await nodes.submitFixture()

        var outbox = (depth: -1, dead: -1)
        let deadline = Date().addingTimeInterval(90)
        repeat {
            try await Task.sleep(for: .milliseconds(300))
            outbox = try await nodes.outbox("renshi-node", towards: "xinsheng-node")
        } while outbox.dead < accepted && Date() < deadline
        #expect(outbox.depth == 0 && outbox.dead == accepted, "\(outbox) \(nodes.servers["renshi-node"]!.log.suffix(3000))")
        let dead = try await nodes.client("renshi-node").call(
            "GET", "/v1/ops/dead-letters?participant=node:xinsheng-node", token: nodes.token("renshi-node", "ops"))
        let letters = dead.json?["deadLetters"]?.arrayValue ?? []
        #expect(letters.count == accepted, "\(dead.text)")
        for letter in letters {
            let reason = letter["lastError"]?.stringValue ?? ""
            #expect(reason.contains("not-hosted-here") && reason.contains("no node of directory serial 8 hosts any of its recipients"), "\(reason)")
        }
        #expect(try await nodes.client("renshi-node").call("GET", "/healthz").json?["directorySerial"]?.numberValue?.intValue == 8)
        #expect(!nodes.servers["renshi-node"]!.log.contains("re-routed an envelope"))

        // Under serial 8 xinsheng has no route: a new submission is refused at the sender, never queued.
        let later = try await nodes.client("renshi-node").call(
            "POST", "/v1/documents", token: nodes.token("renshi-node", "renshi"), body: try fixture("sc-traffic-xml/001-formats-example-gbk.xml"))
        #expect(later.json?["accepted"]?.numberValue?.intValue == 0, "\(later.text)")
        #expect(later.text.contains("no-route"), "\(later.text)")
    }
}
