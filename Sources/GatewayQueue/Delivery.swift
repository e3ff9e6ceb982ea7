import Foundation

/// Where a message is in its life.
public enum DeliveryState: String, Sendable, Hashable, CaseIterable {
    /// Waiting for a lessee (possibly not before `availableAt`, after a failed delivery).
    case queued
    /// Handed to a lessee until its lease expires.
    case leased
    /// Acknowledged by the destination (accepted or rejected): final.
    case acked
    /// Failed `maxDeliveries` times: kept until replayed.
    case dead
}

/// A recorded state change.
public enum DeliveryEvent: String, Sendable, Hashable, CaseIterable {
    case queued, leased, acked, nacked, expired, dead, replayed
    /// A dead message settled by an operator instead of replayed: acked, rejected `discarded`.
    case discarded
}

/// Retry and dead-letter rules: exponential back-off with jitter, a cap, and the number of failed
/// deliveries after which a message is dead.
public struct RetryPolicy: Sendable, Hashable {
    /// Delay after the first failure; doubled for each further one.
    public var baseDelay: TimeInterval
    /// Upper bound of the delay before jitter.
    public var maxDelay: TimeInterval
    /// Fraction of the delay that is random: the delay is `d × (1 − jitter + jitter × r)` with
    /// `r` uniform in [0, 1), so lessees that failed together do not retry together.
    public var jitter: Double
    /// Failed deliveries (nacks + expiries) after which the message is dead. Default 10.
    public var maxDeliveries: Int

    public init(baseDelay: TimeInterval = 1, maxDelay: TimeInterval = 300, jitter: Double = 0.5, maxDeliveries: Int = 10) {
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.jitter = min(max(jitter, 0), 1)
        self.maxDeliveries = max(1, maxDeliveries)
    }

    public static let `default` = RetryPolicy()

    /// The delay before the next delivery after `failures` failed ones (≥ 1); `random` in [0, 1).
    public func delay(afterFailures failures: Int, random: Double) -> TimeInterval {
        let exponent = Double(min(max(failures - 1, 0), 62))
        let full = min(maxDelay, baseDelay * pow(2, exponent))
        return full * (1 - jitter + jitter * min(max(random, 0), 1))
    }
}

/// The delivery state of one message and its pure transitions. Drivers load it, apply a
/// transition, and store the result with the history events it returns; a transition that does
/// not apply throws a `QueueError` and changes nothing.
public struct Delivery: Sendable, Hashable {
    public var state: DeliveryState
    /// Failed deliveries since enqueue or the last replay.
    public var deliveryCount: Int
    /// A queued message is not leased before this instant (back-off).
    public var availableAt: Date
    public var leaseToken: LeaseToken?
    public var leaseExpiresAt: Date?
    /// The last nack error (or `lease expired`), kept into the dead letters.
    public var lastError: String?
    public var outcome: AckOutcome?

    public init(
        state: DeliveryState, deliveryCount: Int, availableAt: Date, leaseToken: LeaseToken? = nil,
        leaseExpiresAt: Date? = nil, lastError: String? = nil, outcome: AckOutcome? = nil
    ) {
        self.state = state
        self.deliveryCount = deliveryCount
        self.availableAt = availableAt
        self.leaseToken = leaseToken
        self.leaseExpiresAt = leaseExpiresAt
        self.lastError = lastError
        self.outcome = outcome
    }

    /// A freshly enqueued message.
    public static func enqueued(at now: Date) -> Delivery {
        Delivery(state: .queued, deliveryCount: 0, availableAt: now)
    }

    /// An event produced by a transition, for the history.
    public struct Change: Sendable, Hashable {
        public var event: DeliveryEvent
        public var deliveryCount: Int
        public var detail: String?
        public init(_ event: DeliveryEvent, _ deliveryCount: Int, _ detail: String? = nil) {
            self.event = event
            self.deliveryCount = deliveryCount
            self.detail = detail
        }
    }

    /// True when a lessee may take it now (queued and its back-off has passed).
    public func isAvailable(at now: Date) -> Bool { state == .queued && availableAt <= now }

    /// True when it holds its FIFO group: waiting, in flight or waiting for a retry.
    public var isPending: Bool { state == .queued || state == .leased }

    /// True when it holds its FIFO group at its destination: pending, or dead at an outbox
    /// (`LeaseSelection.holdsGroup`).
    public func holdsGroup(outbox: Bool) -> Bool { LeaseSelection.holdsGroup(state, outbox: outbox) }

    /// queued → leased with a new token until `now + visibility`.
    public mutating func lease(token: LeaseToken, now: Date, visibility: TimeInterval) throws -> [Change] {
        guard state == .queued else { throw QueueError(.invalidState, "cannot lease a \(state) message") }
        guard availableAt <= now else { throw QueueError(.invalidState, "message is backing off") }
        guard visibility > 0 else { throw QueueError(.invalidArgument, "visibility must be positive") }
        state = .leased
        leaseToken = token
        leaseExpiresAt = now + visibility
        return [Change(.leased, deliveryCount)]
    }

    /// Checks that `token` is the current, unexpired lease.
    public func checkLease(_ token: LeaseToken, now: Date) throws {
        guard state == .leased, leaseToken == token, let expiry = leaseExpiresAt else {
            throw QueueError(.staleLease, "the lease is not current (message is \(state))")
        }
        guard now < expiry else { throw QueueError(.leaseExpired, "the lease expired") }
    }

    /// leased → acked, by the current lease holder only; `detail` (how it was delivered) is added
    /// to the history's.
    public mutating func ack(token: LeaseToken, outcome: AckOutcome, now: Date, detail: String? = nil) throws -> [Change] {
        try checkLease(token, now: now)
        state = .acked
        leaseToken = nil
        leaseExpiresAt = nil
        self.outcome = outcome
        return [Self.acked(outcome, deliveryCount, detail)]
    }

    /// The history of an ack: the rejection reason as its detail, then `detail` (`rejected:
    /// schema; rendered: cq-traffic-json`).
    private static func acked(_ outcome: AckOutcome, _ deliveryCount: Int, _ detail: String? = nil) -> Change {
        Change(.acked, deliveryCount, ackedDetail(outcome, detail))
    }

    /// The history detail of an ack with `outcome` and the ack's own `detail` (a storage that
    /// writes acks itself, PostgreSQL's `xgw_ack`, stores this text).
    public static func ackedDetail(_ outcome: AckOutcome, _ detail: String?) -> String? {
        let parts = [outcome.reason.map { "rejected: \($0)" }, detail].compactMap { $0 }
        return parts.isEmpty ? nil : parts.joined(separator: "; ")
    }

    /// queued, leased or dead → acked with the outcome its destination's node reported, without a
    /// lease (a remote participant's placeholder settled by its receipt); a lease it held is void.
    public mutating func settle(outcome: AckOutcome) throws -> [Change] {
        guard state != .acked else { throw QueueError(.invalidState, "the message is already acked") }
        state = .acked
        leaseToken = nil
        leaseExpiresAt = nil
        self.outcome = outcome
        return [Self.acked(outcome, deliveryCount)]
    }

    /// The outcome of a discarded dead message.
    public static let discarded = AckOutcome.rejected(reason: "discarded")

    /// dead → acked, rejected `discarded` (an operator gives up on it instead of replaying it).
    public mutating func discard() throws -> [Change] {
        guard state == .dead else { throw QueueError(.invalidState, "only a dead message can be discarded (it is \(state))") }
        state = .acked
        outcome = Self.discarded
        return [Change(.discarded, deliveryCount, "rejected: discarded")]
    }

    /// leased → queued (back-off) or dead, by the current lease holder only.
    public mutating func nack(
        token: LeaseToken, error: String, now: Date, policy: RetryPolicy, random: Double
    ) throws -> [Change] {
        try checkLease(token, now: now)
        return fail(.nacked, error: error, now: now, policy: policy, random: random)
    }

    /// leased → dead at once, whatever the delivery count (a refusal no retry can change), by the
    /// current lease holder only; `reason` is the last error.
    public mutating func deadLetter(token: LeaseToken, reason: String, now: Date) throws -> [Change] {
        try checkLease(token, now: now)
        deliveryCount += 1
        leaseToken = nil
        leaseExpiresAt = nil
        lastError = reason
        state = .dead
        availableAt = now
        return [Change(.dead, deliveryCount, reason)]
    }

    /// leased → queued (back-off counted from the lease's expiry) or dead when the visibility
    /// timeout has passed; nothing otherwise.
    public mutating func expireIfDue(now: Date, policy: RetryPolicy, random: Double) -> [Change] {
        guard state == .leased, let expiry = leaseExpiresAt, expiry <= now else { return [] }
        // The delivery failed when the lease ran out, whenever the driver notices: back off from then.
        return fail(.expired, error: "lease expired", now: expiry, policy: policy, random: random)
    }

    private mutating func fail(
        _ event: DeliveryEvent, error: String, now: Date, policy: RetryPolicy, random: Double
    ) -> [Change] {
        deliveryCount += 1
        leaseToken = nil
        leaseExpiresAt = nil
        lastError = error
        var changes = [Change(event, deliveryCount, error)]
        if deliveryCount >= policy.maxDeliveries {
            state = .dead
            availableAt = now
            changes.append(Change(.dead, deliveryCount, error))
        } else {
            state = .queued
            availableAt = now + policy.delay(afterFailures: deliveryCount, random: random)
        }
        return changes
    }

    /// dead → queued now, with the delivery count reset.
    public mutating func replay(now: Date) throws -> [Change] {
        guard state == .dead else { throw QueueError(.invalidState, "only a dead message can be replayed (it is \(state))") }
        state = .queued
        deliveryCount = 0
        availableAt = now
        return [Change(.replayed, 0)]
    }
}
