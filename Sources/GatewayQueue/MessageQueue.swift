import Foundation

/// The durable delivery queue of the gateway: one message per (envelope, destination participant).
///
/// Every driver (in-memory, SQLite, PostgreSQL) keeps these semantics, and its tests run the
/// contract suite and the differential test (`GatewayQueueContract`) unchanged. A driver is a
/// `QueueStorage`: the operations that change delivery states are written once on top of it
/// (`QueueStorage+Operations`, decided by `QueueDecision`).
///
/// - `enqueue` is atomic for a whole submitted document and idempotent per (submitter, recordId,
///   payloadDigest); a duplicate returns the first envelope's id and destinations.
/// - `lease` hands out up to `max` messages of one destination, each invisible to other lessees
///   until acked, nacked, or its visibility expires. FIFO groups per recordId: see `LeaseSelection`.
/// - `ack` / `nack` only with the current, unexpired lease token (`QueueError.Code.staleLease`,
///   `.leaseExpired` otherwise). Nack and expiry re-queue with back-off (`RetryPolicy`); after
///   `maxDeliveries` failures the message is dead until `replay`.
/// - Every state change is in `history`; receipts are stored with the acked message.
public protocol MessageQueue: Sendable {
    /// Stores a submitted document's items, all or none (one transaction).
    func enqueue(submitter: String, items: [EnqueueItem]) async throws -> [EnqueuedItem]

    /// Leases up to `max` messages for `participant` for `visibility` seconds. First returns
    /// expired leases of that participant to the queue (recorded as `expired`).
    func lease(participant: String, max: Int, visibility: TimeInterval) async throws -> [LeasedMessage]

    /// Settles a batch of leases of `participant` in one transaction. Each element of the result
    /// is nil when that acknowledgement was stored, or the error that refused it (stale or expired
    /// lease); refused ones change nothing, the others are stored.
    func ack(participant: String, _ acknowledgements: [Acknowledgement]) async throws -> [QueueError?]

    /// `ack` of `acknowledgements`, then `lease` of up to `max` messages of `participant`, in one
    /// transaction: a loop that settles a batch and takes the next (a forwarder) commits once, not
    /// twice. The lease sees the acks (an acked message's record may hand out its next revision);
    /// a refused ack changes nothing, as in `ack`, and the lease happens all the same. Throws (and
    /// stores nothing, neither acks nor lease) when the arguments are invalid or storage fails;
    /// except that a storage whose ack and lease are one round trip each (PostgreSQL's
    /// procedures, `QueueStorage.ackAtOnce`) runs them one after the other, and a failure of
    /// the lease may come after the acks were stored.
    func ackAndLease(
        participant: String, _ acknowledgements: [Acknowledgement], max: Int, visibility: TimeInterval
    ) async throws -> (acknowledged: [QueueError?], leased: [LeasedMessage])

    /// The message `participant` holds under `leaseToken` while that lease is current (leased, not
    /// expired); nil otherwise. Any gateway node can then settle a lease another node granted, or
    /// one granted before a restart.
    func leased(participant: String, leaseToken: LeaseToken) async throws -> LeasedMessage?

    /// Gives a lease back as failed: queued again with back-off, or dead after `maxDeliveries`.
    func nack(participant: String, leaseToken: LeaseToken, error: String) async throws

    /// Makes the leased message dead at once, whatever its delivery count (a refusal that no retry
    /// changes, e.g. a peer's `rejected`), with `reason` as its last error and history detail.
    /// The same lease checks as `nack`.
    func deadLetter(participant: String, leaseToken: LeaseToken, reason: String) async throws

    /// Returns every expired lease (all participants) to the queue; returns how many.
    @discardableResult
    func reclaimExpired() async throws -> Int

    /// Settles, without a lease, the message (`envelopeId`, `destination`) with the outcome and
    /// receipt its destination's node sent back, stored exactly as an ack stores them (history
    /// `acked`; `receipts` return it to the submitter). A queued, leased (its lease is void) or
    /// dead message is settled; an acked one is `.duplicate` and nothing changes. `.unknownEnvelope`
    /// when no message has that envelope id, `.notADestination` when the envelope has no message
    /// for `destination`, or `destination` is an outbox.
    func settleRemote(envelopeId: String, destination: String, outcome: AckOutcome, receipt: [UInt8]?) async throws -> RemoteSettlement

    /// Receipts of envelopes that `submitter` enqueued, acked strictly after `since`, oldest first.
    /// An outbox's acked messages are transfers to a peer, not receipts: never returned.
    func receipts(submitter: String, since: Date, limit: Int) async throws -> [StoredReceipt]

    /// Receipts of one envelope (one per destination that acked it, outboxes left out).
    func receipts(envelopeId: String) async throws -> [StoredReceipt]

    /// Dead messages of a destination, oldest death first.
    func deadLetters(participant: String, limit: Int) async throws -> [DeadLetter]

    /// A dead message back to the queue, delivery count reset (history: `replayed`).
    func replay(messageId: MessageID) async throws

    /// Replays a selection of dead messages in one transaction. Each element of the result is nil
    /// when that message was replayed, or the error that refused it (`not-found`, or
    /// `invalid-state` when it is not dead, an id repeated in the batch included); refused ones
    /// change nothing, the others are replayed.
    func replay(messageIds: [MessageID]) async throws -> [QueueError?]

    /// A dead message given up: acked, rejected `discarded` (history: `discarded`), so it no longer
    /// holds its group at an outbox. `not-found` for an unknown id, `invalid-state` unless dead.
    func discard(messageId: MessageID) async throws

    /// The envelope stored under `id` with its metadata and destinations; nil when none is (never
    /// enqueued, or purged).
    func storedEnvelope(id: String) async throws -> StoredEnvelope?

    /// Every state change of the envelope's messages, in order (per destination by message id).
    func history(envelopeId: String) async throws -> [HistoryEntry]

    /// Message counts per destination participant (outboxes included). Reads only: a lease past its
    /// expiry that no one has reclaimed yet is counted where its expiry puts it (queued, or dead).
    func depths() async throws -> [String: QueueDepth]

    /// A page of `participant`'s inbox without leasing or changing anything: the headers (no
    /// envelope bytes) of its messages in `states` (queued, leased, dead; an expired lease counts
    /// as queued or dead, as in `depths`), with ids above `after`, by id, at most `limit`.
    func inbox(participant: String, states: Set<DeliveryState>, after: MessageID?, limit: Int) async throws -> InboxPage

    /// One page of the messages matching `search` (every state, every destination, acked ones
    /// included), newest first: message ids below `before` (nil: from the newest), at most `limit`
    /// (1...1000). Reads only: nothing is leased, reclaimed or recorded; an expired lease shows where
    /// reclaiming it will put it. Keyset paging: `next` is the cursor of the following page, so
    /// messages enqueued meanwhile (higher ids) neither shift nor repeat the older pages.
    func search(_ search: MessageSearch, before: MessageID?, limit: Int) async throws -> MessageSearchPage

    /// Per destination with a queued or leased message, when its oldest such message (lowest
    /// message id, i.e. first enqueued) was enqueued.
    func oldestQueued() async throws -> [String: Date]

    /// One batch of the retention purge: up to `limit` acked messages acked before `cutoff` (oldest
    /// ack first), each with its envelope, receipt and history, go to `archive`; only once it
    /// returns are they deleted (with their history, and envelopes left with no message). Nothing
    /// is deleted when `archive` throws. Never deletes queued, leased or dead messages. Returns
    /// messages deleted, or nil when another process is purging the same store (PostgreSQL: one
    /// purger at a time across nodes). A crash between `archive` and the deletion leaves the batch
    /// in place, to be handed to `archive` again.
    func purgeAcked(before cutoff: Date, limit: Int, archive: @escaping PurgeArchive) async throws -> Int?

    /// Throws when the queue cannot serve (readiness).
    func ping() async throws
}

extension MessageQueue {
    /// Settles one lease; throws the refusal.
    public func ack(
        participant: String, leaseToken: LeaseToken, outcome: AckOutcome = .accepted, receipt: [UInt8]? = nil
    ) async throws {
        let results = try await ack(participant: participant, [Acknowledgement(leaseToken: leaseToken, outcome: outcome, receipt: receipt)])
        if let error = results.first ?? nil { throw error }
    }

    public func receipts(submitter: String, since: Date = .distantPast) async throws -> [StoredReceipt] {
        try await receipts(submitter: submitter, since: since, limit: 1000)
    }

    public func deadLetters(participant: String) async throws -> [DeadLetter] {
        try await deadLetters(participant: participant, limit: 1000)
    }
}

/// Settings every driver takes.
public struct QueueConfiguration: Sendable {
    public var retry: RetryPolicy
    /// How long acked messages are kept (purged before `now − retention`): 30 days.
    public var retention: TimeInterval
    public var clock: any QueueClock
    /// Uniform in [0, 1) for back-off jitter.
    public var random: @Sendable () -> Double

    public init(
        retry: RetryPolicy = .default, retention: TimeInterval = 30 * 86_400,
        clock: any QueueClock = SystemQueueClock(), random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) {
        self.retry = retry
        self.retention = retention
        self.clock = clock
        self.random = random
    }
}

/// Checks shared by drivers before they touch storage.
public enum QueueValidation {
    public static func check(submitter: String, items: [EnqueueItem]) throws {
        guard !submitter.isEmpty else { throw QueueError(.invalidArgument, "empty submitter") }
        var ids = Set<String>()
        for (index, item) in items.enumerated() {
            guard !item.envelopeId.isEmpty, !item.recordId.isEmpty else {
                throw QueueError(.invalidArgument, "item \(index): empty envelope id or recordId")
            }
            guard !item.destinations.isEmpty else {
                throw QueueError(.invalidArgument, "item \(index) (envelope \(item.envelopeId)): no destination")
            }
            guard Set(item.destinations).count == item.destinations.count else {
                throw QueueError(.invalidArgument, "item \(index) (envelope \(item.envelopeId)): repeated destination")
            }
            guard ids.insert(item.envelopeId).inserted else {
                throw QueueError(.conflict, "envelope \(item.envelopeId) appears twice in one document")
            }
        }
    }

    public static func check(max: Int, visibility: TimeInterval) throws {
        guard max > 0 else { throw QueueError(.invalidArgument, "max must be positive") }
        guard visibility > 0 else { throw QueueError(.invalidArgument, "visibility must be positive") }
    }
}
