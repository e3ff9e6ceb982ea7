import Foundation
import GatewayQueue

/// The contract rules of the federation primitives (issue 13; federation.md, Store and forward):
/// outbox order, dead letters by a peer's refusal, discarding, remote settlement of placeholders,
/// stored envelopes, acks that forward, and the reads that leave outboxes out or measure them.
extension Context {
    var outbox: String { Outbox.destination(node: "peer-node") }

    /// At an outbox a dead message holds back the later revisions of its record until it is
    /// replayed or discarded; other records pass; an inbox keeps its rule (run with maxDeliveries 1).
    func outboxDeadLetterHoldsItsGroup() async throws {
        let first = contractItem(recordId: "r1", updatedAt: "2026-01-01T01:00:00Z", to: [outbox, "b"])
        let second = contractItem(recordId: "r1", updatedAt: "2026-01-01T02:00:00Z", to: [outbox, "b"])
        let other = contractItem(recordId: "r2", to: [outbox])
        _ = try await queue.enqueue(submitter: "a", items: [first, second, other])
        let leased = try await lease(outbox)
        try check(leased.map(\.envelopeId) == [first.envelopeId, other.envelopeId], "outbox heads: \(leased.map(\.recordId))")
        try await queue.deadLetter(participant: outbox, leaseToken: leased[0].leaseToken, reason: "bad-signature")
        try await queue.ack(participant: outbox, leaseToken: leased[1].leaseToken)
        try check(try await lease(outbox).isEmpty, "a dead letter holds back the later revision of its record at an outbox")
        // The inbox of the same envelopes keeps its rule: a dead message does not block there.
        let b = try await lease("b")
        try check(b.map(\.envelopeId) == [first.envelopeId], "b: head")
        try await queue.nack(participant: "b", leaseToken: b[0].leaseToken, error: "unrecoverable")
        try check(try await lease("b").map(\.envelopeId) == [second.envelopeId], "at an inbox the next revision goes")
        // Another record at the outbox is not held.
        let third = contractItem(recordId: "r3", to: [outbox])
        _ = try await queue.enqueue(submitter: "a", items: [third])
        let r3 = try await lease(outbox)
        try check(r3.map(\.envelopeId) == [third.envelopeId], "other records pass: \(r3.map(\.recordId))")
        try await queue.ack(participant: outbox, leaseToken: r3[0].leaseToken)
        // An expired lease at an outbox is a failed transfer: queued again, never dead, whatever
        // maxDeliveries (1 here) says; dead by a peer's refusal after that, it holds its group.
        let expiring = contractItem(recordId: "r4", updatedAt: "2026-01-01T01:00:00Z", to: [outbox])
        let afterExpiring = contractItem(recordId: "r4", updatedAt: "2026-01-01T02:00:00Z", to: [outbox])
        _ = try await queue.enqueue(submitter: "a", items: [expiring, afterExpiring])
        try check(try await lease(outbox, visibility: 30).map(\.envelopeId) == [expiring.envelopeId], "r4 head")
        clock.advance(by: 31)
        _ = try await queue.reclaimExpired()
        try check(try await queue.depths()[outbox]?.dead == 1, "an expiry does not make an outbox message dead")
        clock.advance(by: 3600)
        let again = try await lease(outbox)
        try check(again.map(\.envelopeId) == [expiring.envelopeId], "r4 head again after its back-off: \(again.map(\.recordId))")
        try await queue.deadLetter(participant: outbox, leaseToken: again[0].leaseToken, reason: "rejected by peer-node: bad-time")
        try check(try await lease(outbox).isEmpty, "dead, it holds its group")
        let depth = try await queue.depths()[outbox]
        try check(depth == QueueDepth(queued: 2, leased: 0, dead: 2, acked: 2), "outbox depth: \(String(describing: depth))")
        // Replayed, the dead one goes first, then the held revision.
        let dead = try await queue.deadLetters(participant: outbox)
        try check(dead.map(\.envelopeId) == [first.envelopeId, expiring.envelopeId], "outbox dead letters: \(dead.map(\.recordId))")
        try await queue.replay(messageId: dead[0].messageId)
        let replayed = try await lease(outbox)
        try check(replayed.map(\.envelopeId) == [first.envelopeId], "the replayed one first: \(replayed.map(\.recordId))")
        try check(try await lease(outbox).isEmpty, "its successor waits while it is in flight")
        try await queue.ack(participant: outbox, leaseToken: replayed[0].leaseToken)
        let next = try await lease(outbox)
        try check(next.map(\.envelopeId) == [second.envelopeId], "then the held revision: \(next.map(\.recordId))")
        // Discarded, the dead one lets its successor go.
        try await queue.discard(messageId: dead[1].messageId)
        let afterDiscard = try await lease(outbox)
        try check(afterDiscard.map(\.envelopeId) == [afterExpiring.envelopeId], "discarding unblocks: \(afterDiscard.map(\.recordId))")
    }

    /// `deadLetter` kills a leased message at once, with the lease checks of nack.
    func deadLetterIsImmediate() async throws {
        let item = contractItem(recordId: "r1", to: ["b"])
        _ = try await queue.enqueue(submitter: "a", items: [item])
        let leased = try await lease("b")
        try await checkThrows(.staleLease) { try await queue.deadLetter(participant: "c", leaseToken: leased[0].leaseToken, reason: "x") }
        try await checkThrows(.staleLease) { try await queue.deadLetter(participant: "b", leaseToken: LeaseToken.random(), reason: "x") }
        clock.advance(by: 1)
        try await queue.deadLetter(participant: "b", leaseToken: leased[0].leaseToken, reason: "rejected: id-conflict")
        try await checkThrows(.staleLease) { try await queue.deadLetter(participant: "b", leaseToken: leased[0].leaseToken, reason: "x") }
        try await checkThrows(.staleLease) { try await queue.ack(participant: "b", leaseToken: leased[0].leaseToken) }
        let dead = try await queue.deadLetters(participant: "b")
        try check(dead.count == 1 && dead[0].envelopeId == item.envelopeId && dead[0].deliveryCount == 1
            && dead[0].lastError == "rejected: id-conflict" && dead[0].diedAt == clock.now(),
            "dead at once, whatever maxDeliveries (10): \(dead)")
        let history = try await queue.history(envelopeId: item.envelopeId)
        try check(history.map(\.event) == [.queued, .leased, .dead] && history[2].detail == "rejected: id-conflict"
            && history[2].deliveryCount == 1, "history: \(history.map { "\($0.event) \($0.detail ?? "-")" })")
        clock.advance(by: 3600)
        try check(try await lease("b").isEmpty, "not leased once dead")
        try await queue.replay(messageId: dead[0].messageId)
        let again = try await lease("b", visibility: 30)
        try check(again.count == 1 && again[0].deliveryCount == 0, "replayable like any dead letter")
        clock.advance(by: 30)
        try await checkThrows(.leaseExpired) { try await queue.deadLetter(participant: "b", leaseToken: again[0].leaseToken, reason: "x") }
        try check(try await queue.deadLetters(participant: "b").isEmpty, "an expired lease is not dead-lettered")
    }

    /// `discard` settles a dead message as rejected `discarded`; anything else is refused
    /// (run with maxDeliveries 1).
    func discardSettlesADeadMessage() async throws {
        let item = contractItem(recordId: "r1", to: ["b", "c"])
        _ = try await queue.enqueue(submitter: "a", items: [item])
        let b = try await lease("b")
        try await queue.nack(participant: "b", leaseToken: b[0].leaseToken, error: "HTTP 500")
        let c = try await lease("c")
        try await checkThrows(.invalidState) { try await queue.discard(messageId: c[0].messageId) }
        try await checkThrows(.notFound) { try await queue.discard(messageId: MessageID(999_999)) }
        let dead = try await queue.deadLetters(participant: "b")
        try check(dead.count == 1, "dead after one failure")
        clock.advance(by: 5)
        try await queue.discard(messageId: dead[0].messageId)
        try await checkThrows(.invalidState) { try await queue.discard(messageId: dead[0].messageId) }
        try await checkThrows(.invalidState) { try await queue.replay(messageId: dead[0].messageId) }
        try check(try await queue.deadLetters(participant: "b").isEmpty, "no longer a dead letter")
        try check(try await queue.depths()["b"] == QueueDepth(queued: 0, leased: 0, dead: 0, acked: 1), "counted as acked")
        let receipts = try await queue.receipts(envelopeId: item.envelopeId)
        try check(receipts.count == 1 && receipts[0].destination == "b" && receipts[0].outcome == .rejected(reason: "discarded")
            && receipts[0].receipt == nil && receipts[0].ackedAt == clock.now(), "rejected discarded, no receipt bytes: \(receipts)")
        try check(try await queue.receipts(submitter: "a").map(\.destination) == ["b"], "the submitter sees it")
        let history = try await queue.history(envelopeId: item.envelopeId).filter { $0.destination == "b" }
        try check(history.map(\.event) == [.queued, .leased, .nacked, .dead, .discarded], "history: \(history.map(\.event))")
        clock.advance(by: 3600)
        try check(try await lease("b").isEmpty, "never delivered again")
    }

    /// `settleRemote` settles a placeholder of a remote participant as an ack would, once.
    func settleRemoteSettlesAPlaceholder() async throws {
        let item = contractItem(recordId: "r1", to: ["renshi", outbox, "xinsheng", "liangping"])
        _ = try await queue.enqueue(submitter: "s", items: [item])
        let start = clock.now()
        let signed = Array("{\"receipt\":\"xinsheng\"}".utf8)
        func settle(_ envelopeId: String, _ destination: String, _ outcome: AckOutcome = .accepted, _ receipt: [UInt8]? = nil)
            async throws -> RemoteSettlement
        {
            try await queue.settleRemote(envelopeId: envelopeId, destination: destination, outcome: outcome, receipt: receipt)
        }
        try check(try await settle("unknown-envelope", "xinsheng") == .unknownEnvelope, "an unknown envelope")
        try check(try await settle(item.envelopeId, "nobody") == .notADestination, "not a destination of the envelope")
        try check(try await settle(item.envelopeId, outbox) == .notADestination, "an outbox is not settled by a receipt")
        clock.advance(by: 5)
        try check(try await settle(item.envelopeId, "xinsheng", .accepted, signed) == .stored, "the placeholder settled")
        clock.advance(by: 5)
        try check(try await settle(item.envelopeId, "xinsheng", .rejected(reason: "late"), [9]) == .duplicate, "a second receipt")
        let receipts = try await queue.receipts(submitter: "s")
        try check(receipts.count == 1 && receipts[0].envelopeId == item.envelopeId && receipts[0].destination == "xinsheng"
            && receipts[0].outcome == .accepted && receipts[0].receipt == signed && receipts[0].ackedAt == start + 5
            && receipts[0].recordId == "r1", "the first receipt stands, returned to the sender: \(receipts)")
        let history = try await queue.history(envelopeId: item.envelopeId)
        try check(history.filter { $0.destination == "xinsheng" }.map(\.event) == [.queued, .acked], "history shows the ack")
        try check(try await queue.depths()["xinsheng"] == QueueDepth(acked: 1), "counted as acked")
        // A leased placeholder is settled like a queued one; its lease is void afterwards.
        let leased = try await lease("liangping")
        try check(try await settle(item.envelopeId, "liangping", .rejected(reason: "schema-invalid")) == .stored, "leased: settled")
        try await checkThrows(.staleLease) { try await queue.ack(participant: "liangping", leaseToken: leased[0].leaseToken) }
        try check(try await queue.leased(participant: "liangping", leaseToken: leased[0].leaseToken) == nil, "no current lease")
        try check(try await queue.receipts(envelopeId: item.envelopeId).first { $0.destination == "liangping" }?.outcome
            == .rejected(reason: "schema-invalid"), "rejected with its reason")
        // An acked message is a duplicate, and its receipt is kept.
        let renshi = try await lease("renshi")
        try await queue.ack(participant: "renshi", leaseToken: renshi[0].leaseToken, outcome: .accepted, receipt: [1])
        try check(try await settle(item.envelopeId, "renshi", .accepted, [2]) == .duplicate, "already acked here")
        try check(try await queue.receipts(envelopeId: item.envelopeId).first { $0.destination == "renshi" }?.receipt == [1],
            "the local ack stands")
        // A dead placeholder is settled too.
        let other = contractItem(recordId: "r2", to: ["b"])
        _ = try await queue.enqueue(submitter: "s", items: [other])
        let b = try await lease("b")
        try await queue.deadLetter(participant: "b", leaseToken: b[0].leaseToken, reason: "down")
        try check(try await settle(other.envelopeId, "b", .accepted, [3]) == .stored, "dead: settled")
        try check(try await queue.deadLetters(participant: "b").isEmpty, "no longer dead")
        try check(try await queue.depths()[outbox] == QueueDepth(queued: 1), "the outbox message untouched")
    }

    /// `storedEnvelope` returns what was enqueued, for the first envelope id of a key only.
    func storedEnvelopeReadsBack() async throws {
        let item = contractItem(recordId: "r1", to: ["c", "b", outbox])
        _ = try await queue.enqueue(submitter: "a", items: [item])
        let stored = try await queue.storedEnvelope(id: item.envelopeId)
        try check(stored == StoredEnvelope(
            submitter: "a", kind: item.kind, recordId: "r1", updatedAt: item.updatedAt, payloadDigest: item.payloadDigest,
            envelope: item.envelope, destinations: ["c", "b", outbox]), "read back: \(String(describing: stored))")
        let again = contractItem(recordId: "r1", to: ["b"])
        try check(try await queue.enqueue(submitter: "a", items: [again]).first?.duplicate == true, "a duplicate")
        try check(try await queue.storedEnvelope(id: again.envelopeId) == nil, "a duplicate's own id is not stored")
        try check(try await queue.storedEnvelope(id: "unknown") == nil, "unknown id")
        for destination in ["c", "b", outbox] {
            for message in try await lease(destination) { try await queue.ack(participant: destination, leaseToken: message.leaseToken) }
        }
        try check(try await queue.storedEnvelope(id: item.envelopeId) != nil, "kept while its messages are")
        clock.advance(by: 31 * 86_400)
        _ = try await queue.purgeAcked(before: clock.now() - 30 * 86_400)
        try check(try await queue.storedEnvelope(id: item.envelopeId) == nil, "gone once purged")
    }

    /// An ack's `forward` is enqueued in the ack's transaction, only when the ack is stored.
    func ackForwardsInItsTransaction() async throws {
        let senderOutbox = Outbox.destination(node: "renshi-node")
        let items = (1...6).map { contractItem(recordId: "r\($0)", to: ["xinsheng"]) }
        _ = try await queue.enqueue(submitter: "renshi", items: items)
        let leased = try await lease("xinsheng", visibility: 30)
        try check(leased.count == 6, "six leased")
        func receipt(_ n: Int, digest: String? = nil, envelopeId: String = UUID().uuidString.lowercased()) -> Acknowledgement.Forward {
            Acknowledgement.Forward(
                submitter: "xinsheng", item: contractItem(recordId: "receipt-\(n)", digest: digest, to: [senderOutbox], envelopeId: envelopeId))
        }
        let first = receipt(1)
        let results = try await queue.ack(participant: "xinsheng", [
            Acknowledgement(leaseToken: leased[0].leaseToken, outcome: .accepted, receipt: [1], forward: first),
            Acknowledgement(leaseToken: LeaseToken.random(), outcome: .accepted, receipt: [2], forward: receipt(2)),
        ])
        try check(results.map { $0?.code } == [nil, .staleLease], "per-item results: \(results)")
        let out = try await lease(senderOutbox)
        try check(out.map(\.envelopeId) == [first.item.envelopeId], "only the stored ack's receipt is in the outbox: \(out.map(\.recordId))")
        try check(out[0].submitter == "xinsheng" && out[0].envelope == first.item.envelope && out[0].recordId == "receipt-1",
            "forwarded as enqueued")
        try check(try await queue.history(envelopeId: first.item.envelopeId).map(\.event) == [.queued, .leased], "its own history")
        // Idempotent: the same key again (another envelope id) stores nothing new.
        let repeated = receipt(1, digest: first.item.payloadDigest)
        try check(try await queue.ack(participant: "xinsheng", [
            Acknowledgement(leaseToken: leased[1].leaseToken, forward: repeated),
        ]) == [nil], "stored")
        try check(try await queue.storedEnvelope(id: repeated.item.envelopeId) == nil, "a duplicate forward stores nothing")
        // An envelope id stored under another key refuses the whole call: nothing is acked.
        let clash = receipt(3, envelopeId: items[0].envelopeId)
        try await checkThrows(.conflict) {
            _ = try await queue.ack(participant: "xinsheng", [
                Acknowledgement(leaseToken: leased[2].leaseToken, forward: receipt(4)),
                Acknowledgement(leaseToken: leased[3].leaseToken, forward: clash),
            ])
        }
        for held in leased[2...3] {
            try check(try await queue.leased(participant: "xinsheng", leaseToken: held.leaseToken) != nil, "still leased: \(held.recordId)")
        }
        try check(try await queue.depths()[senderOutbox] == QueueDepth(leased: 1), "nothing more forwarded")
        // An invalid forward refuses the call before anything is written.
        var empty = receipt(5)
        empty.item.destinations = []
        try await checkThrows(.invalidArgument) {
            _ = try await queue.ack(participant: "xinsheng", [Acknowledgement(leaseToken: leased[2].leaseToken, forward: empty)])
        }
        // Several forwards in one batch are enqueued in the acks' order; the same one twice once.
        let seventh = receipt(7)
        let eighth = receipt(8)
        try check(try await queue.ack(participant: "xinsheng", [
            Acknowledgement(leaseToken: leased[2].leaseToken, forward: seventh),
            Acknowledgement(leaseToken: leased[3].leaseToken, forward: eighth),
            Acknowledgement(leaseToken: leased[5].leaseToken, forward: seventh),
        ]) == [nil, nil, nil], "a batch of forwarding acks stored")
        let batch = try await lease(senderOutbox)
        try check(batch.map(\.envelopeId) == [seventh.item.envelopeId, eighth.item.envelopeId],
            "in order, the repeated one once: \(batch.map(\.recordId))")
        // A refused (expired) ack forwards nothing.
        clock.advance(by: 31)
        let late = receipt(6)
        let expired = try await queue.ack(participant: "xinsheng", [Acknowledgement(leaseToken: leased[4].leaseToken, forward: late)])
        try check(expired.map { $0?.code } == [.leaseExpired], "expired: \(expired)")
        try check(try await queue.storedEnvelope(id: late.item.envelopeId) == nil, "nothing forwarded by a refused ack")
    }

    /// An outbox's acked messages are transfers, not receipts; depths list outboxes.
    func receiptsLeaveOutboxesOut() async throws {
        let lookalikes = ["Node:x", "xnode:y", "node"]
        let item = contractItem(recordId: "r1", to: ["b", outbox] + lookalikes)
        _ = try await queue.enqueue(submitter: "a", items: [item])
        for destination in ["b", outbox] + lookalikes {
            let leased = try await lease(destination)
            try check(leased.count == 1, "\(destination) leased")
            try await queue.ack(participant: destination, leaseToken: leased[0].leaseToken, outcome: .accepted, receipt: [7])
        }
        let expected = ["b"] + lookalikes
        try check(try await queue.receipts(submitter: "a").map(\.destination).sorted() == expected.sorted(),
            "receipts of a submitter: no outbox (and only the exact prefix is one)")
        try check(try await queue.receipts(envelopeId: item.envelopeId).map(\.destination).sorted() == expected.sorted(),
            "receipts of an envelope: no outbox")
        try check(try await queue.depths()[outbox] == QueueDepth(acked: 1), "depths list the outbox")
        try check(try await queue.history(envelopeId: item.envelopeId).contains { $0.destination == outbox && $0.event == .acked },
            "history keeps the outbox")
    }

    /// `oldestQueued`: per destination, the enqueue time of its oldest queued or leased message.
    func oldestQueuedPerDestination() async throws {
        try check(try await queue.oldestQueued().isEmpty, "empty queue")
        let start = clock.now()
        let first = contractItem(recordId: "r1", to: ["b", outbox])
        _ = try await queue.enqueue(submitter: "a", items: [first])
        clock.advance(by: 10)
        _ = try await queue.enqueue(submitter: "a", items: [contractItem(recordId: "r2", to: ["b", "c"])])
        var oldest = try await queue.oldestQueued()
        try check(oldest == ["b": start, outbox: start, "c": start + 10], "\(oldest)")
        let b = try await lease("b", max: 1)
        try check(try await queue.oldestQueued()["b"] == start, "a leased message counts")
        clock.advance(by: 10)
        try await queue.ack(participant: "b", leaseToken: b[0].leaseToken)
        let c = try await lease("c")
        try await queue.deadLetter(participant: "c", leaseToken: c[0].leaseToken, reason: "rejected")
        oldest = try await queue.oldestQueued()
        try check(oldest == ["b": start + 10, outbox: start], "acked and dead ones do not count: \(oldest)")
    }
}
