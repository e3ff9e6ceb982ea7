import Foundation
import GatewayFederation
import GatewayModel
import GatewayQueue
import GatewaySigning

/// The receiving side of the node-to-node API (federation.md, "Answers"): each item is checked in
/// the contract's order and answered `accepted`, `duplicate` or `rejected` with a reason; what is
/// accepted is committed (one queue transaction per request) before the answer.
extension Gateway {
    /// One result of a transfer.
    struct TransferResult {
        var members: JSONObject
        static func of(_ status: String, reason: String? = nil, _ ids: [String: String]) -> TransferResult {
            var members = JSONObject(ids.sorted { $0.key < $1.key }.map { JSONObject.Member(key: $0.key, value: .string($0.value)) })
            members["status"] = .string(status)
            if let reason { members["reason"] = .string(reason) }
            return TransferResult(members: members)
        }
    }

    /// `POST /v1/federation/envelopes` from `peer`.
    func receiveEnvelopes(_ items: [JSONValue], from peer: DirectoryNode, now: Date = Date()) async throws -> [JSONValue] {
        guard let directory else { return [] }
        let current = directory.current
        let hostedHere = Set(current.node(id: directory.node.id)?.hosts ?? [])
        let maxAge = directory.node.maxEnvelopeAgeDays * 86_400
        let trust = self.trust

        enum Pending {
            case done(TransferResult)
            case store(Int)
        }
        var pending: [Pending] = []
        // What this request stores, by submitter (one enqueue per submitter, all in one transaction each).
        var toStore: [(submitter: String, item: EnqueueItem)] = []
        var seenInRequest: [String: [UInt8]] = [:]
        // The stored ids and the signature checks of the whole batch, ahead and on every core.
        let checks = try await EnvelopeChecks.make(items, queue: queue, trust: trust)

        for (index, envelope) in checks.envelopes.enumerated() {
            guard let envelope, let id = envelope.id, !id.isEmpty else {
                pending.append(.done(.of("rejected", reason: VerificationFailure.Code.malformedEnvelope.rawValue, ["envelopeId": ""])))
                continue
            }
            let ids = ["envelopeId": id]
            let header = envelope.signedBytes
            let digest = envelope.payloadDigest?["value"]?.stringValue ?? ""
            // 1. an id already accepted: duplicate when the same `envelope` member, else id-conflict.
            if let earlier = seenInRequest[id] {
                pending.append(.done(.of(earlier == header ? "duplicate" : "rejected", reason: earlier == header ? nil : "id-conflict", ids)))
                continue
            }
            if let stored = checks.stored[index] {
                let storedHeader = (try? Envelope(json: JSONParser.parse(stored.envelope))).map { JSONValue.object($0.header).canonicalBytes() }
                if storedHeader == header && stored.payloadDigest == digest && envelope.payloadMatchesDigest {
                    pending.append(.done(.of("duplicate", ids)))
                } else {
                    pending.append(.done(.of("rejected", reason: "id-conflict", ids)))
                }
                continue
            }
            // 2. the envelope verifies at its createdAt, under the current CRL; its time is plausible.
            guard let createdText = envelope.createdAt, let created = Timestamp.date(createdText) else {
                pending.append(.done(.of("rejected", reason: VerificationFailure.Code.malformedEnvelope.rawValue, ids)))
                continue
            }
            if case .failure(let failure) = checks.verified[index] ?? envelope.verify(trust: trust, at: created) {
                pending.append(.done(.of("rejected", reason: failure.code.rawValue, ids)))
                continue
            }
            if created > now.addingTimeInterval(300) || created < now.addingTimeInterval(-maxAge) {
                pending.append(.done(.of("rejected", reason: "bad-time", ids)))
                continue
            }
            // 3. the sender is hosted by the calling node.
            guard let from = envelope.from, current.node(hosting: from)?.id == peer.id else {
                pending.append(.done(.of("rejected", reason: "sender-not-hosted", ids)))
                continue
            }
            // 4. at least one recipient is hosted here.
            let here = envelope.to.filter { hostedHere.contains($0) }
            guard !here.isEmpty else {
                pending.append(.done(.of("rejected", reason: "not-hosted-here", ids)))
                continue
            }
            let stored = EnqueueItem(
                envelopeId: id, kind: envelope.kind ?? "", recordId: envelope.recordId ?? "",
                updatedAt: envelope.payload["updatedAt"]?.stringValue ?? "", payloadDigest: digest, destinations: here,
                envelope: envelope.canonicalBytes())
            seenInRequest[id] = header
            pending.append(.store(toStore.count))
            toStore.append((from, stored))
        }

        // Commit before answering: one enqueue per submitter, all started at once, so that the
        // queue's group commit (SQLite) takes them in as few transactions as it can, usually one
        // (a batch from a peer mostly holds one submitter's documents: one enqueue, one commit).
        var outcomes: [Int: EnqueuedItem] = [:]
        let bySubmitter = Dictionary(grouping: toStore.indices, by: { toStore[$0].submitter })
        let queue = self.queue
        try await withThrowingTaskGroup(of: [(Int, EnqueuedItem)].self) { group in
            for (submitter, indices) in bySubmitter {
                let items = indices.map { toStore[$0].item }
                group.addTask { Array(zip(indices, try await queue.enqueue(submitter: submitter, items: items))) }
            }
            for try await stored in group {
                for (index, outcome) in stored { outcomes[index] = outcome }
            }
        }
        var results: [JSONValue] = []
        results.reserveCapacity(pending.count)
        for entry in pending {
            switch entry {
            case .done(let result):
                results.append(.object(result.members))
                metrics.transfer(peer: peer.id, result: result.members["status"]?.stringValue ?? "")
            case .store(let index):
                let duplicate = outcomes[index]?.duplicate ?? false
                let result = TransferResult.of(duplicate ? "duplicate" : "accepted", ["envelopeId": toStore[index].item.envelopeId])
                results.append(.object(result.members))
                metrics.transfer(peer: peer.id, result: duplicate ? "duplicate" : "accepted")
            }
        }
        for case .done(let result) in pending where result.members["status"]?.stringValue == "rejected" {
            logger.warning(
                "rejected an envelope from a peer",
                metadata: [
                    "peer": .string(peer.id), "envelopeId": .string(result.members["envelopeId"]?.stringValue ?? ""),
                    "reason": .string(result.members["reason"]?.stringValue ?? ""),
                ])
        }
        return results
    }

    /// `POST /v1/federation/receipts` from `peer`: receipts of envelopes sent from here.
    func receiveReceipts(_ items: [JSONValue], from peer: DirectoryNode, now: Date = Date()) async throws -> [JSONValue] {
        guard let directory else { return [] }
        let current = directory.current
        let hostedHere = Set(current.node(id: directory.node.id)?.hosts ?? [])
        let trust = self.trust
        var results: [JSONValue] = []
        for item in items {
            guard let receipt = try? Receipt(json: item), let envelopeId = receipt.envelopeId, let by = receipt.by else {
                results.append(.object(TransferResult.of("rejected", reason: "malformed-envelope", ["envelopeId": "", "by": ""]).members))
                continue
            }
            let ids = ["envelopeId": envelopeId, "by": by]
            let result = try await receiveReceipt(receipt, ids: ids, bytes: receipt.json.canonicalBytes(), from: peer, current: current, hostedHere: hostedHere, trust: trust, now: now)
            metrics.transfer(peer: peer.id, result: result.members["status"]?.stringValue ?? "")
            if result.members["status"]?.stringValue == "rejected" {
                logger.warning(
                    "rejected a receipt from a peer",
                    metadata: ["peer": .string(peer.id), "envelopeId": .string(envelopeId), "reason": .string(result.members["reason"]?.stringValue ?? "")])
            }
            results.append(.object(result.members))
        }
        return results
    }

    private func receiveReceipt(
        _ receipt: Receipt, ids: [String: String], bytes: [UInt8], from peer: DirectoryNode, current: Directory,
        hostedHere: Set<String>, trust: TrustStore, now: Date
    ) async throws -> TransferResult {
        let envelopeId = ids["envelopeId"] ?? "", by = ids["by"] ?? ""
        // An identical repeat of a kept receipt (byte for byte one that verified when it was kept):
        // the contract's first check, as for envelopes, without verifying again.
        if let kept = try await queue.receipts(envelopeId: envelopeId).first(where: { $0.destination == by }), kept.receipt == bytes {
            return .of("duplicate", ids)
        }
        // Then the receipt verifies before anything it names (its envelope) is read.
        let at = receipt.receivedAt.flatMap(Timestamp.date) ?? now
        if case .failure(let failure) = receipt.verify(trust: trust, at: at) {
            return .of("rejected", reason: failure.code.rawValue, ids)
        }
        guard current.node(hosting: by)?.id == peer.id else { return .of("rejected", reason: "sender-not-hosted", ids) }
        guard let stored = try await queue.storedEnvelope(id: envelopeId), hostedHere.contains(stored.submitter) else {
            return .of("rejected", reason: "unknown-envelope", ids)
        }
        guard let envelope = try? Envelope(json: JSONParser.parse(stored.envelope)), envelope.to.contains(by) else {
            return .of("rejected", reason: "not-a-recipient", ids)
        }
        guard receipt.payloadDigest == envelope.payloadDigest else { return .of("rejected", reason: "digest-mismatch", ids) }
        let outcome: AckOutcome = receipt.outcome == .accepted ? .accepted : .rejected(reason: receipt.reason ?? "")
        switch try await queue.settleRemote(envelopeId: envelopeId, destination: by, outcome: outcome, receipt: bytes) {
        case .stored: return .of("accepted", ids)
        case .duplicate: return .of("duplicate", ids)
        case .unknownEnvelope: return .of("rejected", reason: "unknown-envelope", ids)
        case .notADestination: return .of("rejected", reason: "not-a-recipient", ids)
        }
    }
}

extension Gateway {
    /// The node's federation health (`GET /v1/federation/health`, and `GET /v1/ops/peers` for ops):
    /// the directory held and, per peer, its outbox, dead letters, last success and last error.
    func federationHealth(at time: Date = Date()) async throws -> JSONValue {
        // The one-node federation: no directory, no peers.
        guard let directory else { return ["directoryStale": false, "peers": .object(JSONObject())] }
        let current = directory.current
        let depths = try await queue.depths()
        let oldest = (try? await queue.oldestQueued()) ?? [:]
        refreshOutboxMetrics(depths: depths, oldest: oldest, at: time)
        var peers = JSONObject()
        for peer in current.nodes where peer.id != directory.node.id {
            peers[peer.id] = peerHealth(peer.id, depths[Outbox.destination(node: peer.id)] ?? QueueDepth(), inDirectory: true)
        }
        // Nodes dropped from the directory whose outbox still holds messages: kept (nothing is
        // lost, nothing is sent) until the node is back or ops discard them; listed so that they
        // are not forgotten.
        for (node, depth) in droppedPeerOutboxes(depths) {
            peers[node] = peerHealth(node, depth, inDirectory: false)
        }
        return [
            "node": .string(directory.node.id), "directorySerial": .number(JSONNumber(current.serial)),
            "directoryStale": .bool(directory.isStale(at: time)), "peers": .object(peers),
        ]
    }

    /// The outboxes of nodes that the held directory no longer lists and that still hold messages
    /// (queued, leased or dead), by node id in order, from the queue's `depths`.
    func droppedPeerOutboxes(_ depths: [String: QueueDepth]) -> [(node: String, depth: QueueDepth)] {
        guard let directory else { return [] }
        let current = directory.current
        return depths.sorted { $0.key < $1.key }.compactMap { destination, depth in
            guard let node = Outbox.node(of: destination), node != directory.node.id, current.node(id: node) == nil,
                depth.queued + depth.leased + depth.dead > 0
            else { return nil }
            return (node, depth)
        }
    }

    /// One peer's entry of `federationHealth`: its outbox (queued and leased), dead letters, whether
    /// the held directory lists it, its last success and last error.
    private func peerHealth(_ peer: String, _ depth: QueueDepth, inDirectory: Bool) -> JSONValue {
        let entry = self.peers.entry(peer)
        var object = JSONObject([
            "outboxDepth": .number(JSONNumber(depth.queued + depth.leased)),
            "deadLetters": .number(JSONNumber(depth.dead)),
        ])
        object["inDirectory"] = .bool(inDirectory)
        object["lastSuccessAt"] = entry.lastSuccessAt.map { .string(Timestamp.string($0)) } ?? .null
        object["lastError"] = entry.lastError.map { .string($0) } ?? .null
        return .object(object)
    }

    /// `xgw_federation_outbox_depth{peer}` and `_outbox_oldest_seconds{peer}` for every peer of the
    /// held directory (0 for an empty outbox), from the queue's depths and oldest messages: when
    /// `/metrics` is scraped and when the peers' health is read.
    func refreshOutboxMetrics(depths: [String: QueueDepth], oldest: [String: Date], at time: Date = Date()) {
        for outbox in peerOutboxes {
            let depth = depths[outbox] ?? QueueDepth()
            metrics.outbox(
                peer: Outbox.node(of: outbox) ?? outbox, depth: depth.queued + depth.leased,
                oldestSeconds: oldest[outbox].map { max(0, time.timeIntervalSince($0)) } ?? 0)
        }
    }
}
