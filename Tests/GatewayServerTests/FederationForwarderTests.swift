import Foundation
import GatewayModel
import Testing
import TestSupport

/// The forwarder with several batches in flight per peer, and a peer dropped from the directory
/// (federation.md, "Store and forward"), with two real `xgw serve` processes on loopback.
@Suite(.serialized) struct FederationForwarderTests {
    /// A Chongqing traffic document (xinsheng → renshi) holding `revision` of records `first..<first+count`
    /// (ids unique to `tag`): each revision of a record has a later `updatedAt`, so its own payload digest.
    static func revisions(tag: String, first: Int, count: Int, revision: Int) -> [UInt8] {
        let records = (first..<first + count).map { i in
            """
            {"id":"CQ\(tag)-\(i)","vehicle":{"plateNo":"渝F·A1234","plateKind":"小型汽车"},\
            "driver":{"name":"李四","idCard":"500228199001011235"},"occurredAt":1689035400000,\
            "place":{"areaCode":"500155107","address":"新盛镇场镇过境路K2+300","lng":107.86,"lat":30.86},\
            "offence":{"code":"1039","text":"机动车违反规定停放、临时停车"},"fine":200.0,"points":0,"mode":"ONSITE",\
            "state":"UNHANDLED","org":{"code":"500155000000","name":"重庆市梁平区公安局交通巡逻警察支队"},\
            "updatedAt":\(1_689_036_000_000 + revision * 60_000)}
            """
        }
        return Array("{\"schema\":\"cq.traffic.violation/1\",\"records\":[\(records.joined(separator: ","))]}".utf8)
    }

    /// Every message of `participant`'s inbox at `node` (headers, by message id: the order they were
    /// enqueued there), once `count` are there or `seconds` passed.
    static func inbox(_ nodes: TwoNodes, _ node: String, _ participant: String, count: Int, seconds: Double) async throws -> [JSONValue] {
        let deadline = Date().addingTimeInterval(seconds)
        var all: [JSONValue] = []
        repeat {
            all = []
            var after: String?
            repeat {
                let answer = try await nodes.client(node).call(
                    "GET", "/v1/inbox/messages?limit=1000" + (after.map { "&after=\($0)" } ?? ""), token: nodes.token(node, participant))
                guard answer.status == 200 else { throw TestFailure("GET /v1/inbox/messages at \(node): \(answer.status) \(answer.text)") }
                all += answer.json?["messages"]?.arrayValue ?? []
                after = answer.json?["next"]?.stringValue
            } while after != nil
            if all.count >= count { return all }
            try await Task.sleep(for: .milliseconds(500))
        } while Date() < deadline
        return all
    }

    /// Three revisions of 150 records, and 300 other records between them, queue up at xinsheng-node
    /// while renshi-node is down; when it comes up, the forwarder drains the outbox with several
    /// batches in flight. Every message arrives once, and each record's revisions are enqueued at
    /// renshi-node in the order of their `updatedAt` (the outbox never leases a record's next
    /// revision while one is in flight).
    @Test func severalBatchesInFlightKeepEachRecordsRevisionsInOrder() async throws {
        let nodes = try TwoNodes()
        defer { nodes.remove() }
        try await nodes.start("xinsheng-node")
        var documents: [[UInt8]] = []
        for revision in 1...3 {
            documents.append(Self.revisions(tag: "rev", first: 0, count: 150, revision: revision))
            documents.append(Self.revisions(tag: "one\(revision)", first: 0, count: 100, revision: 0))
        }
        var expected = 0
        for document in documents {
            let submitted = try await nodes.client("xinsheng-node").call(
                "POST", "/v1/documents", token: nodes.token("xinsheng-node", "xinsheng"), body: document)
            #expect(submitted.status == 200, "\(submitted.text)")
            expected += submitted.json?["accepted"]?.numberValue?.intValue ?? 0
        }
        #expect(expected == 3 * 150 + 3 * 100)
        try await nodes.start("renshi-node")

        let arrived = try await Self.inbox(nodes, "renshi-node", "renshi", count: expected, seconds: 180)
        let log = nodes.servers["xinsheng-node"]!.log.suffix(3000)
        #expect(arrived.count == expected, "\(log)")
        #expect(Set(arrived.compactMap { $0["envelopeId"]?.stringValue }).count == arrived.count, "a message arrived twice")
        var byRecord: [String: [(id: Int, updatedAt: String)]] = [:]
        for message in arrived {
            guard let record = message["recordId"]?.stringValue, let id = message["messageId"]?.numberValue?.intValue,
                let updatedAt = message["updatedAt"]?.stringValue
            else { throw TestFailure("an inbox header without recordId, messageId or updatedAt: \(message)") }
            byRecord[record, default: []].append((id, updatedAt))
        }
        let revised = byRecord.filter { $0.value.count > 1 }
        #expect(revised.count == 150, "\(byRecord.count) records")
        for (record, messages) in revised {
            let updated = messages.sorted { $0.id < $1.id }.map(\.updatedAt)
            #expect(updated.count == 3 && updated == updated.sorted() && Set(updated).count == 3, "\(record): enqueued as \(updated)")
        }
        // The outbox is empty at xinsheng-node, and nothing is dead.
        #expect(try await nodes.drained("xinsheng-node", towards: "renshi-node", seconds: 60))
        #expect(try await nodes.outbox("xinsheng-node", towards: "renshi-node").dead == 0)
    }

    /// A peer dropped from the directory while its outbox holds messages: `GET /v1/ops/peers` lists
    /// it with `inDirectory: false` and the queued count, the node logs a warning, and nothing is
    /// lost: once a directory lists the peer again, the messages go out.
    @Test func aPeerDroppedFromTheDirectoryKeepsItsOutboxListedAndSentWhenItIsBack() async throws {
        let nodes = try TwoNodes()
        defer { nodes.remove() }
        try await nodes.start("renshi-node")
        let accepted = try await nodes.submitFixture()

        // Serial 8 lists renshi-node alone.
        let urls = nodes.ports.mapValues { "https://127.0.0.1:\($0)" }
        let alone = try nodes.alliance.directory(serial: 8, hosts: ["renshi-node": NodeAlliance.hosts["renshi-node"]!], urls: urls)
        try nodes.alliance.writeDirectory(alone, node: "renshi-node")
        var entry: JSONValue?
        let deadline = Date().addingTimeInterval(90)
        repeat {
            let peers = try await nodes.client("renshi-node").call("GET", "/v1/ops/peers", token: nodes.token("renshi-node", "ops"))
            if peers.json?["directorySerial"]?.numberValue?.intValue == 8 { entry = peers.json?["peers"]?["xinsheng-node"] }
            if entry == nil { try await Task.sleep(for: .milliseconds(300)) }
        } while entry == nil && Date() < deadline
        let renshi = nodes.servers["renshi-node"]!
        #expect(entry?["inDirectory"] == .bool(false), "\(renshi.log.suffix(3000))")
        #expect(entry?["outboxDepth"]?.numberValue?.intValue == accepted, "\(String(describing: entry))")
        #expect(entry?["deadLetters"]?.numberValue?.intValue == 0, "\(String(describing: entry))")
        let warned = Date().addingTimeInterval(60)
        while !renshi.log.contains("is not in the directory any more") && Date() < warned { try await Task.sleep(for: .milliseconds(300)) }
        #expect(renshi.log.contains("is not in the directory any more"), "\(renshi.log.suffix(3000))")

        // Serial 9 lists both again; xinsheng-node comes up and gets every message once.
        try nodes.alliance.writeDirectory(try nodes.alliance.directory(serial: 9, urls: urls), node: "renshi-node")
        try await nodes.start("xinsheng-node")
        let arrived = try await Self.inbox(nodes, "xinsheng-node", "xinsheng", count: accepted, seconds: 180)
        #expect(arrived.count == accepted, "\(renshi.log.suffix(3000))")
        let peers = try await nodes.client("renshi-node").call("GET", "/v1/ops/peers", token: nodes.token("renshi-node", "ops"))
        #expect(peers.json?["peers"]?["xinsheng-node"]?["inDirectory"] == .bool(true), "\(peers.text)")
    }
}
