import Foundation
import GatewayQueue

/// One turn of a loop that serves a queue destination itself (a peer's forwarder, a participant's
/// connector): lease the next batch, and wait when there is nothing or the queue failed.
extension Gateway {
    /// What one turn of `leaseNext` did.
    struct LeaseTurn: Sendable {
        /// The batch leased; empty after a wait.
        var messages: [LeasedMessage]
        /// When the acks handed to the turn were stored (with the lease, or alone after the lease
        /// failed); nil when there were none or they could not be stored (their leases expire, and
        /// the messages are sent again: at least once).
        var settledAt: ContinuousClock.Instant?
    }

    /// Leases up to `max` messages of `destination` for `visibility` seconds, storing `settling`
    /// (the acks of the loop's previous batch) with it (`ackAndLease`: one transaction on SQLite
    /// and in memory; on PostgreSQL `xgw_ack` then `xgw_lease`, unless an ack forwards). When
    /// nothing is leasable it waits `idle` (at once, without waiting, when it stored acks: the
    /// loop learns that they are stored when they are); when the queue fails, it stores the acks
    /// alone if it can and waits a second. Either way it returns an empty batch, for the loop to
    /// look again.
    func leaseNext(
        _ destination: String, max: Int, visibility: TimeInterval, idle: Duration, settling: [Acknowledgement] = []
    ) async -> LeaseTurn {
        do {
            let (_, messages) = try await queue.ackAndLease(participant: destination, settling, max: max, visibility: visibility)
            let turn = LeaseTurn(messages: messages, settledAt: settling.isEmpty ? nil : .now)
            if messages.isEmpty && settling.isEmpty { try? await Task.sleep(for: idle) }
            return turn
        } catch {
            var settledAt: ContinuousClock.Instant?
            if !settling.isEmpty, (try? await queue.ack(participant: destination, settling)) != nil { settledAt = .now }
            try? await Task.sleep(for: .seconds(1))
            return LeaseTurn(messages: [], settledAt: settledAt)
        }
    }
}
