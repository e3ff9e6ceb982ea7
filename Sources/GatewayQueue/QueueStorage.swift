import Foundation

/// What a queue driver provides: storage that selects messages and writes transitions, each
/// `update` atomically. The queue's rules are not here: `QueueStorage+Operations` implements
/// `lease`, `ack`, `nack`, `deadLetter`, `leased`, `reclaimExpired`, `replay` (one or a batch), `discard`,
/// `settleRemote`, `depths` and `inbox` once for every driver, with `QueueDecision` deciding every
/// transition (through `Delivery`); a driver adds `enqueue` (also of an ack's `forward`, when it
/// writes the ack's transition), the reads (message headers, receipts, dead letters, history, stored envelopes,
/// oldest queued), `purgeAcked` and `ping`, all of which are its SQL. (The shape of postgres-nio's connection state machines: the decisions are pure,
/// the driver only carries them out.)
///
/// The drivers' selections must be exactly what the in-memory driver selects: the differential
/// test (`QueueDifferential`) checks it with random operation sequences.
public protocol QueueStorage: MessageQueue {
    var configuration: QueueConfiguration { get }

    /// One transaction: runs `first` (when given), then `step`, each selecting its rows at `now`
    /// (seeing the writes of the step before it), deciding and writing the transitions decided.
    /// Returns `step`'s output. A decision that throws rolls the whole transaction back.
    func update<Output: Sendable>(at now: Date, first: QueueStep<Int>?, _ step: QueueStep<Output>) async throws -> Output

    /// One transaction: runs `before`, then `first` and `step` as `update(at:first:_:)` does, each
    /// seeing the writes of the steps before it. Returns the outputs of `before` and `step`
    /// (`ackAndLease`: the acks of one batch, then the lease of the next).
    func update<Before: Sendable, Output: Sendable>(
        at now: Date, before: QueueStep<Before>, first: QueueStep<Int>?, _ step: QueueStep<Output>
    ) async throws -> (Before, Output)

    /// A whole lease decided and written by the storage itself (one round trip: PostgreSQL's
    /// `xgw_lease` procedure), or nil when it cannot and `lease` runs its steps instead. What it
    /// answers and writes must be what the steps would (the differential test checks it). `now` is
    /// already `stored`; validation is done. Default: nil.
    func leaseAtOnce(participant: String, max: Int, visibility: TimeInterval, at now: Date) async throws -> [LeasedMessage]?

    /// A batch of acks decided and written by the storage itself (PostgreSQL's `xgw_ack`), or nil
    /// when it cannot and `ack` runs its steps instead; as `leaseAtOnce`. Default: nil.
    func ackAtOnce(participant: String, _ acknowledgements: [Acknowledgement], at now: Date) async throws -> [QueueError?]?

    /// Reads a selection without changing anything.
    func select(_ selection: QueueSelection, at now: Date) async throws -> [StoredMessage]

    /// Message counts per (destination, state), and the leases that have expired at `now`.
    func counts(at now: Date) async throws -> QueueCounts

    /// The headers of the messages of `destination` stored in one of `states` (as stored: a
    /// lease past its expiry is leased), with ids above `after`, by id, at most `limit`
    /// (`inbox` is written over it).
    func headers(destination: String, states: Set<DeliveryState>, after: MessageID?, limit: Int) async throws -> [MessageHeader]

    /// The headers of the messages matching `search` with its states as stored (empty: all; a
    /// lease past its expiry is leased), with ids below `before`, by id from the highest, at most
    /// `limit` (`search` is written over it).
    func searchHeaders(_ search: MessageSearch, before: MessageID?, limit: Int) async throws -> [MessageHeader]

    /// The instant as the storage keeps it (SQL drivers: whole milliseconds), so that a lease's
    /// expiry handed out equals the one read back later.
    func stored(_ date: Date) -> Date
}

extension QueueStorage {
    public func stored(_ date: Date) -> Date { date }

    public func leaseAtOnce(participant: String, max: Int, visibility: TimeInterval, at now: Date) async throws -> [LeasedMessage]? {
        nil
    }

    public func ackAtOnce(participant: String, _ acknowledgements: [Acknowledgement], at now: Date) async throws -> [QueueError?]? {
        nil
    }
}

/// The rows a step works on.
public enum QueueSelection: Sendable, Hashable {
    /// Leased messages of `participant` (of everyone when nil) whose lease has expired
    /// (`leaseExpiresAt <= now`), by message id.
    case expiredLeases(participant: String?)
    /// What `LeaseSelection.select` picks for `participant` at `now`, at most `max`, in its order,
    /// with each message's `content`. The storage keeps other lessees of `participant` out until
    /// the transaction ends.
    case leasable(participant: String, max: Int)
    /// The messages of `participant` holding these lease tokens, whatever their state or expiry.
    /// With `content` only when read by `select`.
    case leaseHolders(participant: String, tokens: [LeaseToken])
    /// One message by id.
    case message(MessageID)
    /// Messages by id (each once, by id; unknown ids left out).
    case messages([MessageID])
    /// Every message of an envelope, by id.
    case envelope(String)
}

/// One message's delivery state as stored.
public struct StoredMessage: Sendable, Hashable {
    public var id: MessageID
    public var destination: String
    public var delivery: Delivery
    /// What a lessee receives (`.leasable` selections and `select(.leaseHolders)`); nil otherwise.
    public var content: Content?

    public init(id: MessageID, destination: String, delivery: Delivery, content: Content? = nil) {
        self.id = id
        self.destination = destination
        self.delivery = delivery
        self.content = content
    }

    /// The envelope and its metadata.
    public struct Content: Sendable, Hashable {
        public var envelopeId, submitter, kind, recordId, updatedAt, payloadDigest: String
        public var envelope: [UInt8]

        public init(
            envelopeId: String, submitter: String, kind: String, recordId: String, updatedAt: String,
            payloadDigest: String, envelope: [UInt8]
        ) {
            self.envelopeId = envelopeId
            self.submitter = submitter
            self.kind = kind
            self.recordId = recordId
            self.updatedAt = updatedAt
            self.payloadDigest = payloadDigest
            self.envelope = envelope
        }
    }
}

/// A decided change of one message: its new delivery state and the history it produced, for the
/// storage to write in the step's transaction.
public struct Transition: Sendable, Hashable {
    public var id: MessageID
    /// The state after the change.
    public var delivery: Delivery
    public var changes: [Delivery.Change]
    /// When it happened (the history's time, the ack time of an ack).
    public var at: Date
    /// When the message became dead (dead letters are ordered by it); nil when it is not dead.
    public var diedAt: Date?
    /// The receipt stored with an ack.
    public var receipt: [UInt8]?
    /// What an ack enqueues with it, in the same transaction (`Acknowledgement.forward`).
    public var forward: Acknowledgement.Forward?

    public init(
        id: MessageID, delivery: Delivery, changes: [Delivery.Change], at: Date, receipt: [UInt8]? = nil,
        forward: Acknowledgement.Forward? = nil
    ) {
        self.id = id
        self.delivery = delivery
        self.changes = changes
        self.at = at
        self.diedAt = delivery.state == .dead ? at : nil
        self.receipt = receipt
        self.forward = forward
    }
}

/// A selection and the decision taken on its rows: the transitions to write and the step's output.
public struct QueueStep<Output: Sendable>: Sendable {
    public var selection: QueueSelection
    public var decide: @Sendable ([StoredMessage]) throws -> (transitions: [Transition], output: Output)

    public init(
        _ selection: QueueSelection,
        decide: @escaping @Sendable ([StoredMessage]) throws -> (transitions: [Transition], output: Output)
    ) {
        self.selection = selection
        self.decide = decide
    }
}

/// What `depths` is computed from.
public struct QueueCounts: Sendable, Hashable {
    /// Messages per destination and stored state.
    public var states: [Key: Int]
    /// Leases past their expiry per destination and delivery count (still counted as leased in
    /// `states`): `depths` counts them where their expiry will put them.
    public var expired: [Key: Int]

    public struct Key: Sendable, Hashable {
        public var destination: String
        public var state: DeliveryState
        public var deliveryCount: Int
        public init(destination: String, state: DeliveryState, deliveryCount: Int = 0) {
            self.destination = destination
            self.state = state
            self.deliveryCount = deliveryCount
        }
    }

    public init(states: [Key: Int] = [:], expired: [Key: Int] = [:]) {
        self.states = states
        self.expired = expired
    }
}
