import Foundation
import GatewayQueue
import Testing

/// The federation primitives of the queue core without I/O: outbox names, the outbox FIFO rule
/// and the transitions of dead-lettering, discarding and remote settlement.
@Suite("Outbox rules")
struct OutboxTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func outboxNames() {
        #expect(Outbox.destination(node: "xinsheng-node") == "node:xinsheng-node")
        #expect(Outbox.node(of: "node:xinsheng-node") == "xinsheng-node")
        #expect(Outbox.isOutbox("node:xinsheng-node"))
        for inbox in ["xinsheng", "Node:x", "xnode:y", "node", " node:x"] {
            #expect(!Outbox.isOutbox(inbox), "\(inbox)")
            #expect(Outbox.node(of: inbox) == nil, "\(inbox)")
        }
        // Byte prefix, as SQL compares: a combining mark after the colon does not hide it.
        #expect(Outbox.node(of: "node:\u{301}x") == "\u{301}x")
    }

    func candidate(_ id: Int64, _ record: String, _ updatedAt: String, _ state: DeliveryState = .queued) -> LeaseSelection.Candidate {
        .init(id: MessageID(id), recordId: record, updatedAt: updatedAt, sequence: id, state: state, availableAt: t0)
    }

    @Test func aDeadMessageHoldsItsGroupAtAnOutboxOnly() {
        let candidates = [
            candidate(1, "r1", "a", .dead),
            candidate(2, "r1", "b"),
            candidate(3, "r2", "b", .dead),
            candidate(4, "r2", "a"),
            candidate(5, "r3", "a", .acked),
            candidate(6, "r3", "b"),
        ]
        #expect(LeaseSelection.select(candidates, max: 10, now: t0, outbox: false) == [MessageID(2), MessageID(4), MessageID(6)])
        // r1: the dead head holds it; r2: the dead one comes later, the earlier one goes; r3: acked.
        #expect(LeaseSelection.select(candidates, max: 10, now: t0, outbox: true) == [MessageID(4), MessageID(6)])
        #expect(LeaseSelection.holdsGroup(.dead, outbox: true) && !LeaseSelection.holdsGroup(.dead, outbox: false))
        #expect(!LeaseSelection.holdsGroup(.acked, outbox: true))
    }

    @Test func deadLetterIsDeadAtOnce() throws {
        var delivery = Delivery.enqueued(at: t0)
        _ = try delivery.lease(token: LeaseToken("t1"), now: t0, visibility: 30)
        #expect(throws: QueueError.self) { _ = try delivery.deadLetter(token: LeaseToken("t2"), reason: "x", now: t0 + 1) }
        #expect(throws: QueueError.self) { _ = try delivery.deadLetter(token: LeaseToken("t1"), reason: "x", now: t0 + 30) }
        let changes = try delivery.deadLetter(token: LeaseToken("t1"), reason: "bad-signature", now: t0 + 1)
        #expect(changes == [Delivery.Change(.dead, 1, "bad-signature")])
        #expect(delivery.state == .dead && delivery.deliveryCount == 1 && delivery.lastError == "bad-signature")
        #expect(delivery.leaseToken == nil && delivery.holdsGroup(outbox: true) && !delivery.holdsGroup(outbox: false))
    }

    @Test func failedTransfersNeverKillAnOutboxMessage() async throws {
        let retry = RetryPolicy(baseDelay: 0.001, maxDelay: 0.001, jitter: 0, maxDeliveries: 2)
        let queue = InMemoryMessageQueue(configuration: QueueConfiguration(retry: retry))
        let item = EnqueueItem(
            envelopeId: "e1", kind: "traffic-violation", recordId: "r1", updatedAt: "2026-12-03T08:00:00+08:00",
            payloadDigest: "d1", destinations: ["renshi", "node:x"], envelope: Array("{}".utf8))
        _ = try await queue.enqueue(submitter: "xinsheng", items: [item])
        for destination in ["renshi", "node:x"] {
            for _ in 0..<5 {
                try await Task.sleep(for: .milliseconds(5))
                guard let leased = try await queue.lease(participant: destination, max: 1, visibility: 30).first else { break }
                try await queue.nack(participant: destination, leaseToken: leased.leaseToken, error: "peer down")
            }
        }
        let depths = try await queue.depths()
        // The inbox message died after its two allowed deliveries; the outbox one waits on, queued.
        #expect(depths["renshi"]?.dead == 1)
        #expect(depths["node:x"]?.dead == 0 && depths["node:x"]?.queued == 1)
        #expect(retry.for("node:x").maxDeliveries == .max && retry.for("renshi").maxDeliveries == 2)
    }

    @Test func discardOnlyADeadMessage() throws {
        var delivery = Delivery(state: .dead, deliveryCount: 3, availableAt: t0, lastError: "down")
        #expect(try delivery.discard() == [Delivery.Change(.discarded, 3, "rejected: discarded")])
        #expect(delivery.state == .acked && delivery.outcome == .rejected(reason: "discarded"))
        #expect(throws: QueueError.self) { _ = try delivery.discard() }
        var queued = Delivery.enqueued(at: t0)
        #expect(throws: QueueError.self) { _ = try queued.discard() }
    }

    @Test func settleWithoutALease() throws {
        for state in [DeliveryState.queued, .leased, .dead] {
            var delivery = Delivery(state: state, deliveryCount: 1, availableAt: t0, leaseToken: state == .leased ? LeaseToken("t") : nil)
            #expect(try delivery.settle(outcome: .rejected(reason: "schema")) == [Delivery.Change(.acked, 1, "rejected: schema")])
            #expect(delivery.state == .acked && delivery.leaseToken == nil && delivery.outcome == .rejected(reason: "schema"))
            #expect(throws: QueueError.self) { _ = try delivery.settle(outcome: .accepted) }
        }
    }

    @Test func settleRemoteDecision() {
        let rows = [
            StoredMessage(id: MessageID(1), destination: "renshi", delivery: Delivery(state: .acked, deliveryCount: 0, availableAt: t0)),
            StoredMessage(id: MessageID(2), destination: "node:x", delivery: .enqueued(at: t0)),
            StoredMessage(id: MessageID(3), destination: "xinsheng", delivery: .enqueued(at: t0)),
        ]
        func settle(_ rows: [StoredMessage], _ destination: String) -> (transitions: [Transition], output: RemoteSettlement) {
            QueueDecision.settleRemote(rows, destination: destination, outcome: .accepted, receipt: [1], now: t0)
        }
        #expect(settle([], "xinsheng").output == .unknownEnvelope)
        #expect(settle(rows, "nobody").output == .notADestination)
        #expect(settle(rows, "node:x").output == .notADestination && settle(rows, "node:x").transitions.isEmpty)
        #expect(settle(rows, "renshi").output == .duplicate && settle(rows, "renshi").transitions.isEmpty)
        let stored = settle(rows, "xinsheng")
        #expect(stored.output == .stored && stored.transitions.map(\.id) == [MessageID(3)] && stored.transitions[0].receipt == [1])
    }
}
