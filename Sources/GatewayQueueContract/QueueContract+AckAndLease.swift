import Foundation
import GatewayQueue

/// The contract of `ackAndLease` (issue 13 figures: a forwarder settles one batch and leases the
/// next in one transaction): what `ack` then `lease` do, in one step.
extension Context {
    /// The lease sees the acks of the same call (an acked head lets its record's next revision go),
    /// per-ack results as `ack` gives them (a refused one changes nothing, and the lease happens
    /// all the same), receipts and history as `ack` and `lease` write them, expired leases returned
    /// first as `lease` does, no acks is a lease, and invalid arguments store nothing.
    func ackAndLeaseIsAckThenLease() async throws {
        let first = contractItem(recordId: "r1", updatedAt: "2026-01-01T01:00:00Z", to: [outbox])
        let second = contractItem(recordId: "r1", updatedAt: "2026-01-01T02:00:00Z", to: [outbox])
        let other = contractItem(recordId: "r2", to: [outbox])
        let expiring = contractItem(recordId: "r3", to: [outbox])
        _ = try await queue.enqueue(submitter: "a", items: [first, second, other])
        let leased = try await lease(outbox, max: 10)
        try check(leased.map(\.envelopeId) == [first.envelopeId, other.envelopeId], "heads of their groups: \(leased.map(\.recordId))")

        // Invalid arguments: nothing is stored, not even the acks.
        try await checkThrows(.invalidArgument) {
            _ = try await queue.ackAndLease(participant: outbox, [Acknowledgement(leaseToken: leased[0].leaseToken)], max: 0, visibility: 30)
        }
        try check(try await queue.leased(participant: outbox, leaseToken: leased[0].leaseToken) != nil, "a refused call acked nothing")

        // Acks, one of them refused, and the next lease, in one call.
        let (acknowledged, next) = try await queue.ackAndLease(
            participant: outbox,
            [
                Acknowledgement(leaseToken: leased[0].leaseToken, receipt: Array("receipt-r1".utf8)),
                Acknowledgement(leaseToken: LeaseToken.random()),
            ],
            max: 10, visibility: 30)
        try check(acknowledged.map { $0?.code } == [nil, .staleLease], "per-ack results: \(acknowledged)")
        try check(next.map(\.envelopeId) == [second.envelopeId], "the lease sees the ack of its call: \(next.map(\.recordId))")
        try check(next.allSatisfy { $0.leaseExpiresAt == clock.now() + 30 && $0.deliveryCount == 0 }, "leased as lease does")
        try check(try await queue.leased(participant: outbox, leaseToken: leased[1].leaseToken) != nil, "the other lease is still held")
        let events = try await queue.history(envelopeId: first.envelopeId).map(\.event)
        try check(events == [.queued, .leased, .acked], "history of the acked one: \(events)")
        try check(try await queue.history(envelopeId: second.envelopeId).map(\.event) == [.queued, .leased], "history of the leased one")

        // Nothing left to lease: the acks are stored all the same.
        let (settled, none) = try await queue.ackAndLease(
            participant: outbox, [Acknowledgement(leaseToken: next[0].leaseToken)], max: 10, visibility: 30)
        try check(settled.map { $0?.code } == [nil] && none.isEmpty, "acked with nothing to lease: \(settled), \(none.map(\.recordId))")
        try check(try await queue.depths()[outbox] == QueueDepth(queued: 0, leased: 1, dead: 0, acked: 2), "depths after the acks")

        // Expired leases of the participant are returned first, as by lease.
        _ = try await queue.enqueue(submitter: "a", items: [expiring])
        let held = try await lease(outbox, visibility: 30)
        try check(held.map(\.envelopeId) == [expiring.envelopeId], "r3 leased")
        clock.advance(by: 31)
        let (acked, afterExpiry) = try await queue.ackAndLease(
            participant: outbox, [Acknowledgement(leaseToken: leased[1].leaseToken)], max: 10, visibility: 30)
        try check(acked.map { $0?.code } == [.leaseExpired], "an expired lease is refused: \(acked)")
        try check(afterExpiry.isEmpty, "expired leases went back to the queue with back-off: \(afterExpiry.map(\.recordId))")
        let expiredEvents = try await queue.history(envelopeId: expiring.envelopeId).map(\.event)
        try check(expiredEvents == [.queued, .leased, .expired], "the expiry is recorded: \(expiredEvents)")

        // No acks: a lease.
        clock.advance(by: 3600)
        let (noAcks, again) = try await queue.ackAndLease(participant: outbox, [], max: 10, visibility: 30)
        try check(noAcks.isEmpty && Set(again.map(\.envelopeId)) == [other.envelopeId, expiring.envelopeId], "no acks is a lease: \(again.map(\.recordId))")
    }
}
