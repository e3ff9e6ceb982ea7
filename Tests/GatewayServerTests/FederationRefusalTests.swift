import Foundation
import GatewayModel
import GatewaySigning
import Testing
import TestSupport

/// The node-to-node API's refusals as real requests (federation.md, "Node-to-node API"): curl with
/// xinsheng-node's client certificate (an independent client) posting envelopes and receipts signed
/// here with keys from the alliance folder, to a running renshi-node; and what a federation of two
/// nodes promises about bulletins and keys.
@Suite(.serialized) struct FederationRefusalTests {
    static let caller = "xinsheng-node"
    static let receiver = "renshi-node"

    /// A signer of `participant` from the alliance's folder (the test plays the node hosting it).
    static func signer(_ nodes: TwoNodes, _ participant: String) throws -> Signer {
        try Signer(
            keyFile: nodes.alliance.alliance.officeKeyPath(participant),
            certificateFile: nodes.alliance.alliance.officeCertificatePath(participant))
    }

    /// A canonical Chongqing traffic record (the formats.md example) under a record id of its own:
    /// a node takes another envelope of the same record revision from the same sender for a
    /// duplicate (the queue's idempotency key), whatever its envelope id.
    static func record() throws -> JSONValue {
        let lines = try fixture("cq-traffic-json/001-formats-example.expected.ndjson").split(separator: UInt8(ascii: "\n"))
        var record = try #require(try JSONParser.parse(Array(lines[0])).objectValue)
        record["recordId"] = .string("cq-traffic:T\(UUID().uuidString.prefix(8))")
        return .object(record)
    }

    /// An envelope of a fresh `record()` (or `payload`) from `from` to `to`, signed by `by` (default: `from`).
    static func envelope(
        _ nodes: TwoNodes, from: String, to: [String], by: String? = nil, createdAt: Date = Date(), id: String = UUIDv7.generate(),
        payload: JSONValue? = nil
    ) throws -> Envelope {
        let record = try payload ?? record()
        let view = record.canonicalRecord
        return try Envelope.seal(
            payload: record, kind: view.kindName ?? "", recordId: view.recordId ?? "", from: from, to: to, createdAt: createdAt, id: id,
            signer: signer(nodes, by ?? from))
    }

    /// POSTs `body` to `path` at renshi-node as `caller` (its node certificate).
    static func post(_ nodes: TwoNodes, _ path: String, _ body: String, as caller: String = caller, headers: [String] = []) throws
        -> (status: Int, body: String)
    {
        let pki = nodes.alliance.alliance
        return try curlFederation(
            port: nodes.ports[receiver]!, path: path, certificate: pki.nodeCertificatePath(caller), key: pki.nodeKeyPath(caller),
            root: pki.tlsCACertificatePath, method: "POST", body: body, headers: headers)
    }

    /// The results of a transfer of `items` (as `member`), one per item; each result as
    /// "status" or "status reason".
    static func transfer(_ nodes: TwoNodes, _ member: String, _ items: [[UInt8]], as caller: String = caller) throws -> [String] {
        let body = "{\"\(member)\":[" + items.map { String(decoding: $0, as: UTF8.self) }.joined(separator: ",") + "]}"
        let answer = try post(nodes, "/v1/federation/\(member)", body, as: caller)
        #expect(answer.status == 200, "\(answer.body)")
        let json = try? JSONParser.parse(Array(answer.body.utf8))
        #expect(json?["directorySerial"]?.numberValue?.intValue == 7, "\(answer.body)")
        let results = json?["results"]?.arrayValue ?? []
        #expect(results.count == items.count, "\(answer.body)")
        return results.map { result in
            [result["status"]?.stringValue, result["reason"]?.stringValue].compactMap { $0 }.joined(separator: " ")
        }
    }

    static func send(_ nodes: TwoNodes, _ envelopes: Envelope...) throws -> [String] {
        try transfer(nodes, "envelopes", envelopes.map { $0.canonicalBytes() })
    }

    /// The error code of a refused whole request.
    static func errorCode(_ answer: (status: Int, body: String)) -> String {
        (try? JSONParser.parse(Array(answer.body.utf8)))?["error"]?["code"]?.stringValue ?? answer.body
    }

    /// Leases at `node` as `participant` until `count` came, then looks once more after the peer's
    /// outbox drained: what came, to be compared with `count` (more means a duplicate).
    static func leaseExactly(_ nodes: TwoNodes, _ node: String, _ participant: String, count: Int) async throws -> [JSONValue] {
        var messages = try await nodes.leaseAll(node, participant) { $0.count >= count }
        for (other, _) in NodeAlliance.hosts where other != node && nodes.servers[other]?.process.isRunning == true {
            _ = try await nodes.drained(other, towards: node)
        }
        try await Task.sleep(for: .milliseconds(500))
        messages += try await nodes.leaseAll(node, participant, seconds: 0) { _ in true }
        return messages
    }

    @Test func envelopesAreCheckedInTheContractsOrder() async throws {
        let nodes = try TwoNodes()
        defer { nodes.remove() }
        try await nodes.start(Self.receiver)

        // Signed by a participant the calling node does not host (kaijiang is renshi-node's).
        let foreign = try Self.envelope(nodes, from: "kaijiang", to: ["renshi"])
        #expect(try Self.send(nodes, foreign) == ["rejected sender-not-hosted"])
        // From xinsheng, which xinsheng-node hosts: accepted; again: duplicate.
        let good = try Self.envelope(nodes, from: "xinsheng", to: ["renshi"])
        #expect(try Self.send(nodes, good) == ["accepted"])
        #expect(try Self.send(nodes, good) == ["duplicate"])
        // The same id with another envelope member (another createdAt, signed again).
        let conflicting = try Self.envelope(
            nodes, from: "xinsheng", to: ["renshi"], createdAt: Date().addingTimeInterval(-60), id: good.id!, payload: good.payload)
        #expect(try Self.send(nodes, conflicting) == ["rejected id-conflict"])
        // Twice in one request: the second is the first's duplicate.
        let twice = try Self.envelope(nodes, from: "xinsheng", to: ["renshi", "liangping"])
        #expect(try Self.send(nodes, twice, twice) == ["accepted", "duplicate"])
        // Another envelope id of a record revision already accepted from the same sender: the
        // node keeps the first (the queue's idempotency key is sender, recordId and payload digest).
        let sameRevision = try Self.envelope(nodes, from: "xinsheng", to: ["renshi"], payload: good.payload)
        #expect(try Self.send(nodes, sameRevision) == ["duplicate"])
        // No recipient hosted by renshi-node.
        #expect(try Self.send(nodes, try Self.envelope(nodes, from: "xinsheng", to: ["liangping"])) == ["rejected not-hosted-here"])
        // createdAt 10 minutes ahead of the receiver's clock.
        let future = try Self.envelope(nodes, from: "xinsheng", to: ["renshi"], createdAt: Date().addingTimeInterval(600))
        #expect(try Self.send(nodes, future) == ["rejected bad-time"])
        // Signed by xinsheng but claiming to be from liangping-xinsheng: the signature check refuses it.
        let impostor = try Self.envelope(nodes, from: "liangping-xinsheng", to: ["renshi"], by: "xinsheng")
        let impostorResult = try Self.send(nodes, impostor)
        #expect(impostorResult.count == 1 && impostorResult[0].hasPrefix("rejected ") && impostorResult[0] != "rejected sender-not-hosted", "\(impostorResult)")
        // A refused id may come again: an envelope that is not an envelope does not stop the others.
        #expect(try Self.transfer(nodes, "envelopes", [Array("{\"envelope\":1}".utf8), foreign.canonicalBytes()])
            == ["rejected malformed-envelope", "rejected sender-not-hosted"])

        // renshi's inbox holds what was accepted, once each.
        let messages = try await Self.leaseExactly(nodes, Self.receiver, "renshi", count: 2)
        #expect(messages.compactMap { $0["envelopeId"]?.stringValue }.sorted() == [good.id!, twice.id!].sorted())
    }

    @Test func anEnvelopeOfARevokedSigningCertificateIsRefused() async throws {
        let nodes = try TwoNodes()
        defer { nodes.remove() }
        try await nodes.start(Self.receiver)
        let before = try Self.envelope(nodes, from: "xinsheng", to: ["renshi"])
        #expect(try Self.send(nodes, before) == ["accepted"])

        // xinsheng's signing certificate revoked at the alliance; the new crl.pem reaches renshi-node.
        let certificate = try Certificate(file: nodes.alliance.alliance.officeCertificatePath("xinsheng"))
        let revoked = try nodes.alliance.alliance.revokeCertificate(serial: certificate.serial)
        #expect(revoked.root == .signing)
        let held = try nodes.alliance.nodePKI(Self.receiver).crlPath
        try FileManager.default.copyItem(atPath: nodes.alliance.alliance.crlPath, toPath: held + ".new")
        #expect(rename(held + ".new", held) == 0)

        // The node reloads its CRL within seconds: poll with fresh envelopes until it refuses them.
        var results: [String] = []
        let deadline = Date().addingTimeInterval(30)
        repeat {
            try await Task.sleep(for: .milliseconds(500))
            results = try Self.send(nodes, try Self.envelope(nodes, from: "xinsheng", to: ["renshi"]))
        } while results == ["accepted"] && Date() < deadline
        #expect(results == ["rejected revoked-certificate"], "\(nodes.servers[Self.receiver]!.log.suffix(2000))")
        // An id accepted before is still a duplicate: it is not verified again.
        #expect(try Self.send(nodes, before) == ["duplicate"])
    }

    @Test func wholeRequestsThatCannotBeReadAreRefused() async throws {
        let nodes = try TwoNodes()
        defer { nodes.remove() }
        try await nodes.start(Self.receiver)
        let good = String(decoding: try Self.envelope(nodes, from: "xinsheng", to: ["renshi"]).canonicalBytes(), as: UTF8.self)

        // No Content-Length (a chunked body).
        let chunked = try Self.post(nodes, "/v1/federation/envelopes", "{\"envelopes\":[\(good)]}", headers: ["Transfer-Encoding: chunked"])
        #expect(chunked.status == 411 && Self.errorCode(chunked) == "length-required", "\(chunked)")
        // 1001 items.
        let many = "{\"envelopes\":[" + Array(repeating: "{}", count: 1000).joined(separator: ",") + ",\(good)]}"
        let tooMany = try Self.post(nodes, "/v1/federation/envelopes", many)
        #expect(tooMany.status == 413 && Self.errorCode(tooMany) == "too-many", "\(tooMany.body.prefix(500))")
        let receipts = "{\"receipts\":[" + Array(repeating: "{}", count: 1001).joined(separator: ",") + "]}"
        let tooManyReceipts = try Self.post(nodes, "/v1/federation/receipts", receipts)
        #expect(tooManyReceipts.status == 413 && Self.errorCode(tooManyReceipts) == "too-many", "\(tooManyReceipts.body.prefix(500))")
        // Not JSON, no array, another member.
        for body in ["{\"envelopes\":[\(good)", "{\"envelopes\":{}}", "{\"receipts\":[\(good)]}", "[\(good)]"] {
            let answer = try Self.post(nodes, "/v1/federation/envelopes", body)
            #expect(answer.status == 400 && Self.errorCode(answer) == "malformed-request", "\(body.prefix(40)): \(answer)")
        }
        // Nothing of a refused request was stored: renshi's inbox is empty.
        let messages = try await nodes.leaseAll(Self.receiver, "renshi", seconds: 0) { _ in true }
        #expect(messages.isEmpty, "\(messages)")
        // And the node still accepts that envelope.
        #expect(try Self.transfer(nodes, "envelopes", [Array(good.utf8)]) == ["accepted"])
    }

    @Test func receiptsAreCheckedInTheContractsOrder() async throws {
        let nodes = try TwoNodes()
        defer { nodes.remove() }
        try await nodes.start(Self.receiver)
        // A bulletin sent from renshi-node by kaijiang-renshi to kaijiang, dachuan (here) and
        // liangping, liangping-xinsheng (at xinsheng-node, which is down: it waits in the outbox).
        let submitted = try await nodes.client(Self.receiver).call(
            "POST", "/v1/documents", token: nodes.token(Self.receiver, "kaijiang-renshi"),
            body: try fixture("sc-bulletin-xml/006-several-audience-members.xml"))
        #expect(submitted.status == 200, "\(submitted.text)")
        let leased = try await nodes.leaseAll(Self.receiver, "kaijiang") { !$0.isEmpty }
        let sent = try Envelope(json: try #require(leased.first?["envelope"]))
        #expect(Set(sent.to) == ["kaijiang", "liangping", "dachuan", "liangping-xinsheng"])

        func receipt(_ envelope: Envelope, by: String) throws -> [UInt8] {
            try Receipt.issue(for: envelope, by: by, outcome: .accepted, signer: Self.signer(nodes, by)).json.canonicalBytes()
        }
        // By a recipient that xinsheng-node hosts: accepted, and an identical repeat is a duplicate.
        let liangping = try receipt(sent, by: "liangping")
        #expect(try Self.transfer(nodes, "receipts", [liangping]) == ["accepted"])
        #expect(try Self.transfer(nodes, "receipts", [liangping]) == ["duplicate"])
        // Another receipt for the same (envelope, by): the first one stands.
        let again = try Receipt.issue(for: sent, by: "liangping", outcome: .rejected, reason: .badSignature, signer: Self.signer(nodes, "liangping"))
        #expect(try Self.transfer(nodes, "receipts", [again.json.canonicalBytes()]) == ["duplicate"])
        // By kaijiang, a recipient that renshi-node itself hosts: not xinsheng-node's to send.
        #expect(try Self.transfer(nodes, "receipts", [try receipt(sent, by: "kaijiang")]) == ["rejected sender-not-hosted"])
        // By xinsheng, which the bulletin was not sent to.
        #expect(try Self.transfer(nodes, "receipts", [try receipt(sent, by: "xinsheng")]) == ["rejected not-a-recipient"])
        // For an envelope renshi-node never sent (signed with renshi's key, never submitted).
        let unsent = try Self.envelope(nodes, from: "renshi", to: ["xinsheng"])
        #expect(try Self.transfer(nodes, "receipts", [try receipt(unsent, by: "xinsheng")]) == ["rejected unknown-envelope"])
        // A payload digest that is not the envelope's.
        var altered = sent
        altered.header["payloadDigest"] = ["alg": "SHA-256", "value": .string(String(repeating: "0", count: 64))]
        #expect(try Self.transfer(nodes, "receipts", [try receipt(altered, by: "liangping-xinsheng")]) == ["rejected digest-mismatch"])

        // The issuer sees liangping's receipt, the first one.
        let receipts = try await nodes.client(Self.receiver).call("GET", "/v1/receipts", token: nodes.token(Self.receiver, "kaijiang-renshi"))
        let kept = receipts.json?["receipts"]?.arrayValue ?? []
        let byLiangping = kept.compactMap { try? Receipt(json: $0["receipt"] ?? .null) }.filter { $0.by == "liangping" }
        #expect(byLiangping.count == 1 && byLiangping.first?.outcome == .accepted, "\(receipts.text)")
    }

    @Test(arguments: [
        (file: "sc-bulletin-xml/006-several-audience-members.xml", issuer: "kaijiang-renshi"),
        (file: "cq-bulletin-json/001-spec-example.json", issuer: "liangping-xinsheng"),
    ])
    func aBulletinToMembersOfBothNodesReachesEachMemberOnce(file: String, issuer: String) async throws {
        let nodes = try TwoNodes()
        defer { nodes.remove() }
        try await nodes.start(Self.receiver)
        try await nodes.start(Self.caller)
        let home = try #require(NodeAlliance.hosts.first { $0.value.contains(issuer) }?.key)
        let submitted = try await nodes.client(home).call("POST", "/v1/documents", token: nodes.token(home, issuer), body: try fixture(file))
        #expect(submitted.status == 200, "\(submitted.text)")
        let record = try #require(submitted.json?["records"]?.arrayValue?.first)
        let envelopeId = try #require(record["envelopeId"]?.stringValue)
        let destinations = record["destinations"]?.arrayValue?.compactMap(\.stringValue) ?? []
        // The audience spans both nodes.
        let nodesReached = Set(destinations.compactMap { member in NodeAlliance.hosts.first { $0.value.contains(member) }?.key })
        #expect(nodesReached == Set(NodeAlliance.hosts.keys), "\(destinations)")
        for member in destinations {
            let node = try #require(NodeAlliance.hosts.first { $0.value.contains(member) }?.key)
            let messages = try await Self.leaseExactly(nodes, node, member, count: 1)
            #expect(messages.compactMap { $0["envelopeId"]?.stringValue } == [envelopeId], "\(member) at \(node): \(messages.count) messages")
            // The same signed envelope, naming every destination, at each node.
            if let first = messages.first?["envelope"], let envelope = try? Envelope(json: first) {
                #expect(Set(envelope.to) == Set(destinations) && envelope.from == issuer)
            }
        }
    }

    @Test func eachNodesFoldersHoldOnlyItsOwnPrivateKeys() async throws {
        let nodes = try TwoNodes()
        defer { nodes.remove() }
        try await nodes.start(Self.receiver)
        try await nodes.start(Self.caller)
        // Traffic both ways first, so that everything a node keeps (queue, adopted directory) exists.
        let submitted = try await nodes.client(Self.caller).call(
            "POST", "/v1/documents", token: nodes.token(Self.caller, "xinsheng"), body: chongqingTraffic(tag: "keys", count: 2))
        #expect(submitted.status == 200, "\(submitted.text)")
        #expect(try await nodes.leaseAll(Self.receiver, "renshi") { $0.count >= 2 }.count == 2)

        let fm = FileManager.default
        let pki = nodes.alliance.alliance
        let everyone = NodeAlliance.hosts.values.flatMap { $0 }
        for (node, hosted) in NodeAlliance.hosts {
            // Every private key the alliance made, and whose it is.
            var owners: [Data: String] = [:]
            for id in everyone { owners[try Data(contentsOf: URL(fileURLWithPath: pki.officeKeyPath(id)))] = id }
            for id in NodeAlliance.hosts.keys { owners[try Data(contentsOf: URL(fileURLWithPath: pki.nodeKeyPath(id)))] = id }
            let allowed = Set(hosted + [node])
            var found: [String] = []
            for folder in [nodes.alliance.folder.appendingPathComponent(node), nodes.data(node)] {
                let files = fm.enumerator(at: folder, includingPropertiesForKeys: nil)?.compactMap { $0 as? URL } ?? []
                for file in files where (try? file.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
                    let bytes = try Data(contentsOf: file)
                    let looksLikeKey = file.lastPathComponent.hasSuffix(".key.pem") || bytes.range(of: Data("PRIVATE KEY".utf8)) != nil
                    // Any key inside any file (a database, a log) counts too: its PEM's second line
                    // (the first is alike for every key of one algorithm) is the private scalar's.
                    let holds = owners.filter { key, _ in
                        let lines = String(decoding: key, as: UTF8.self).split(separator: "\n").filter { !$0.hasPrefix("-----") }
                        return lines.count > 1 && bytes.range(of: Data(lines[1].utf8)) != nil
                    }
                    for owner in holds.values {
                        #expect(allowed.contains(owner), "\(file.path) holds the private key of \(owner), which \(node) does not host")
                        found.append(owner)
                    }
                    if looksLikeKey { #expect(!holds.isEmpty, "\(file.path) looks like a key that is not one the alliance made") }
                }
            }
            // The scan saw the keys that are there: each hosted participant's and the node's own.
            #expect(Set(found) == allowed, "\(node): \(found.sorted())")
        }
    }
}
