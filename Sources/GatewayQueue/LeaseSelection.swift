import Foundation

/// The FIFO-group rule of `lease`, as a pure function.
///
/// Per destination, the messages of one recordId form a group ordered by `updatedAt` (text order
/// of the canonical instant), ties by enqueue sequence. Only the group's *head* — its first
/// pending (queued or leased) message — can be leased, and only when it is queued, its back-off
/// has passed and no message of its group is leased: while the head is in flight or waiting for a
/// retry, the rest of the group waits, and a group never has two messages in flight (even when an
/// earlier `updatedAt` arrives, or is replayed, while a later one is out: it waits for that one).
/// Acked and (at an inbox) dead messages are not pending, so a dead message does not block its group (the next
/// update is delivered; the dead one waits for an operator's replay, after which it is pending
/// again and, being older, becomes the head again once the in-flight one is settled).
/// At an outbox (`Outbox`), a dead message is pending too (federation.md, Order): it holds back the
/// later messages of its group until it is replayed or discarded, so a later revision never
/// reaches a peer before an earlier one.
/// Different recordIds never block each other. Eligible heads are returned in order of
/// (`availableAt`, sequence): enqueue order unless back-off moved a message later.
public enum LeaseSelection {
    public struct Candidate: Sendable, Hashable {
        public var id: MessageID
        public var recordId: String
        public var updatedAt: String
        /// Enqueue order, increasing across the queue.
        public var sequence: Int64
        public var state: DeliveryState
        public var availableAt: Date

        public init(id: MessageID, recordId: String, updatedAt: String, sequence: Int64, state: DeliveryState, availableAt: Date) {
            self.id = id
            self.recordId = recordId
            self.updatedAt = updatedAt
            self.sequence = sequence
            self.state = state
            self.availableAt = availableAt
        }

        /// Order inside a FIFO group.
        public static func groupOrder(_ a: Candidate, _ b: Candidate) -> Bool {
            a.updatedAt != b.updatedAt ? a.updatedAt < b.updatedAt : a.sequence < b.sequence
        }
    }

    /// True when a message in `state` holds its FIFO group: queued or leased, and at an outbox
    /// also dead.
    public static func holdsGroup(_ state: DeliveryState, outbox: Bool) -> Bool {
        state == .queued || state == .leased || (outbox && state == .dead)
    }

    /// The rule for one message: queued, its back-off passed, the head of its group (`groupHead`,
    /// the group's first pending message) and no message of its group leased.
    public static func mayLease(_ candidate: Candidate, groupHead: MessageID?, groupInFlight: Bool, now: Date) -> Bool {
        candidate.state == .queued && candidate.availableAt <= now && groupHead == candidate.id && !groupInFlight
    }

    /// The ids to lease now, at most `max`, from the candidates of one destination (any subset
    /// that contains, for each group it touches, its first pending message and every leased one;
    /// acked ones are ignored, and dead ones unless the destination is an `outbox`).
    public static func select(_ candidates: some Sequence<Candidate>, max: Int, now: Date, outbox: Bool = false) -> [MessageID] {
        guard max > 0 else { return [] }
        var heads: [String: Candidate] = [:]
        var inFlight = Set<String>()
        for candidate in candidates where holdsGroup(candidate.state, outbox: outbox) {
            if candidate.state == .leased { inFlight.insert(candidate.recordId) }
            if let head = heads[candidate.recordId], !Candidate.groupOrder(candidate, head) { continue }
            heads[candidate.recordId] = candidate
        }
        var eligible = heads.values.filter {
            mayLease($0, groupHead: $0.id, groupInFlight: inFlight.contains($0.recordId), now: now)
        }
        eligible.sort { $0.availableAt != $1.availableAt ? $0.availableAt < $1.availableAt : $0.sequence < $1.sequence }
        return eligible.prefix(max).map(\.id)
    }
}
