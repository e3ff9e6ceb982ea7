import Foundation

/// One record's signed envelope to enqueue, with the metadata the queue routes, orders and
/// de-duplicates on. The queue stores one message per (envelope, destination).
public struct EnqueueItem: Sendable, Hashable {
    /// The envelope's id (UUID v7 text); unique across the queue.
    public var envelopeId: String
    /// The canonical record kind (`traffic-violation`, …), kept for ops and metrics.
    public var kind: String
    /// The record's id: messages of one recordId are a FIFO group per destination.
    public var recordId: String
    /// The record's `updatedAt` as canonical instant text, ordered as text inside a FIFO group.
    public var updatedAt: String
    /// Hex digest of the payload: with the submitter and recordId, the idempotency key.
    public var payloadDigest: String
    /// Participant ids the envelope is routed to (at least one, no repeats).
    public var destinations: [String]
    /// The signed envelope JSON, opaque to the queue.
    public var envelope: [UInt8]

    public init(
        envelopeId: String, kind: String, recordId: String, updatedAt: String,
        payloadDigest: String, destinations: [String], envelope: [UInt8]
    ) {
        self.envelopeId = envelopeId
        self.kind = kind
        self.recordId = recordId
        self.updatedAt = updatedAt
        self.payloadDigest = payloadDigest
        self.destinations = destinations
        self.envelope = envelope
    }

    /// The idempotency key within one submitter.
    public var key: IdempotencyKey { IdempotencyKey(recordId: recordId, payloadDigest: payloadDigest) }
}

/// (recordId, payload digest): with the submitter, what makes two submissions the same.
public struct IdempotencyKey: Sendable, Hashable {
    public var recordId: String
    public var payloadDigest: String
    public init(recordId: String, payloadDigest: String) {
        self.recordId = recordId
        self.payloadDigest = payloadDigest
    }
}

/// What `enqueue` did with one item, in the order of the items submitted.
public struct EnqueuedItem: Sendable, Hashable {
    /// The stored envelope's id: the item's own, or the first one seen for its key when `duplicate`.
    public var envelopeId: String
    /// The destinations stored for that envelope.
    public var destinations: [String]
    /// True when the same (submitter, recordId, digest) was already stored (by an earlier call or
    /// earlier in the same call): nothing new was stored for this item.
    public var duplicate: Bool

    public init(envelopeId: String, destinations: [String], duplicate: Bool) {
        self.envelopeId = envelopeId
        self.destinations = destinations
        self.duplicate = duplicate
    }
}

/// A queue-assigned id of one (envelope, destination) message, unique in one queue.
public struct MessageID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var rawValue: Int64
    public init(_ rawValue: Int64) { self.rawValue = rawValue }
    public static func < (a: MessageID, b: MessageID) -> Bool { a.rawValue < b.rawValue }
    public var description: String { String(rawValue) }
}

/// Proof of holding a lease: only the current token can ack or nack the message.
public struct LeaseToken: Sendable, Hashable, CustomStringConvertible {
    public var rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    /// A fresh random token: 122 random bits in the lowercase UUID v4 form.
    ///
    /// From `SystemRandomNumberGenerator` (the kernel's CSPRNG) rather than Foundation's `UUID()`,
    /// which on Linux opens, reads and closes `/dev/urandom` for every id: three system calls per
    /// leased message.
    public static func random() -> LeaseToken {
        var generator = SystemRandomNumberGenerator()
        let high = generator.next() & 0xffff_ffff_ffff_0fff | 0x4000  // version 4
        let low = generator.next() & 0x3fff_ffff_ffff_ffff | 0x8000_0000_0000_0000  // RFC 4122 variant
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var text = [UInt8](repeating: UInt8(ascii: "-"), count: 36)
        var position = 0
        for (word, dashes) in [(high, [8, 13]), (low, [18, 23])] {
            for shift in stride(from: 60, through: 0, by: -4) {
                if dashes.contains(position) { position += 1 }
                text[position] = digits[Int(word >> UInt64(shift) & 0xf)]
                position += 1
            }
        }
        return LeaseToken(String(decoding: text, as: UTF8.self))
    }
    public var description: String { rawValue }
}

/// A message handed to a lessee.
public struct LeasedMessage: Sendable, Hashable {
    public var messageId: MessageID
    public var envelopeId: String
    public var destination: String
    public var submitter: String
    public var kind: String
    public var recordId: String
    public var updatedAt: String
    public var payloadDigest: String
    public var envelope: [UInt8]
    /// Failed deliveries so far (nacks and expiries since enqueue or the last replay).
    public var deliveryCount: Int
    public var leaseToken: LeaseToken
    public var leaseExpiresAt: Date

    public init(
        messageId: MessageID, envelopeId: String, destination: String, submitter: String, kind: String,
        recordId: String, updatedAt: String, payloadDigest: String, envelope: [UInt8], deliveryCount: Int,
        leaseToken: LeaseToken, leaseExpiresAt: Date
    ) {
        self.messageId = messageId
        self.envelopeId = envelopeId
        self.destination = destination
        self.submitter = submitter
        self.kind = kind
        self.recordId = recordId
        self.updatedAt = updatedAt
        self.payloadDigest = payloadDigest
        self.envelope = envelope
        self.deliveryCount = deliveryCount
        self.leaseToken = leaseToken
        self.leaseExpiresAt = leaseExpiresAt
    }
}

/// The receiving office's answer to a delivery (envelope.md, Receipt).
public enum AckOutcome: Sendable, Hashable {
    case accepted
    case rejected(reason: String)

    public var name: String {
        switch self {
        case .accepted: "accepted"
        case .rejected: "rejected"
        }
    }

    public var reason: String? {
        if case .rejected(let reason) = self { return reason }
        return nil
    }

    public init?(name: String, reason: String?) {
        switch name {
        case "accepted": self = .accepted
        case "rejected": self = .rejected(reason: reason ?? "")
        default: return nil
        }
    }
}

/// One acknowledgement in a batch.
public struct Acknowledgement: Sendable, Hashable {
    public var leaseToken: LeaseToken
    public var outcome: AckOutcome
    /// The signed receipt JSON, stored with the message and returned to the submitter.
    public var receipt: [UInt8]?
    /// An item enqueued in the same transaction as this ack when it is stored (nothing when the
    /// ack is refused): a recipient's node puts the signed receipt into the outbox of the sender's
    /// node, so that no crash leaves an ack without its outbound receipt. Enqueued as by
    /// `enqueue(submitter:items:)` (idempotent per key; an envelope id stored under another key
    /// fails the whole ack call with `conflict`).
    public var forward: Forward?
    /// Added to the history detail of the `acked` event (after the rejection reason): how the
    /// message was delivered, e.g. `rendered: cq-traffic-json` (issue 14 item 4).
    public var detail: String?

    /// What an ack enqueues with it.
    public struct Forward: Sendable, Hashable {
        public var submitter: String
        public var item: EnqueueItem

        public init(submitter: String, item: EnqueueItem) {
            self.submitter = submitter
            self.item = item
        }
    }

    public init(
        leaseToken: LeaseToken, outcome: AckOutcome = .accepted, receipt: [UInt8]? = nil, forward: Forward? = nil, detail: String? = nil
    ) {
        self.leaseToken = leaseToken
        self.outcome = outcome
        self.receipt = receipt
        self.forward = forward
        self.detail = detail
    }
}

/// What `settleRemote` did.
public enum RemoteSettlement: Sendable, Hashable {
    /// The message was settled (acked with the outcome and receipt given).
    case stored
    /// The message was already acked: nothing changed, the first settlement stands.
    case duplicate
    /// No message of that envelope id.
    case unknownEnvelope
    /// The envelope has no message for that destination (or it is an outbox).
    case notADestination
}

/// A stored envelope with what it was enqueued with (`storedEnvelope(id:)`).
public struct StoredEnvelope: Sendable, Hashable {
    public var submitter: String
    public var kind: String
    public var recordId: String
    public var updatedAt: String
    public var payloadDigest: String
    /// The signed envelope JSON as enqueued.
    public var envelope: [UInt8]
    /// The destinations it was enqueued for, in their order.
    public var destinations: [String]

    public init(
        submitter: String, kind: String, recordId: String, updatedAt: String, payloadDigest: String, envelope: [UInt8],
        destinations: [String]
    ) {
        self.submitter = submitter
        self.kind = kind
        self.recordId = recordId
        self.updatedAt = updatedAt
        self.payloadDigest = payloadDigest
        self.envelope = envelope
        self.destinations = destinations
    }
}

/// A stored receipt, as the submitter reads it back.
public struct StoredReceipt: Sendable, Hashable {
    public var messageId: MessageID
    public var envelopeId: String
    public var destination: String
    public var recordId: String
    public var outcome: AckOutcome
    public var receipt: [UInt8]?
    public var ackedAt: Date

    public init(
        messageId: MessageID, envelopeId: String, destination: String, recordId: String,
        outcome: AckOutcome, receipt: [UInt8]?, ackedAt: Date
    ) {
        self.messageId = messageId
        self.envelopeId = envelopeId
        self.destination = destination
        self.recordId = recordId
        self.outcome = outcome
        self.receipt = receipt
        self.ackedAt = ackedAt
    }
}

/// A message in the dead letters.
public struct DeadLetter: Sendable, Hashable {
    public var messageId: MessageID
    public var envelopeId: String
    public var destination: String
    public var submitter: String
    public var recordId: String
    public var deliveryCount: Int
    /// The error given with the last nack, or `lease expired`.
    public var lastError: String?
    public var diedAt: Date

    public init(
        messageId: MessageID, envelopeId: String, destination: String, submitter: String, recordId: String,
        deliveryCount: Int, lastError: String?, diedAt: Date
    ) {
        self.messageId = messageId
        self.envelopeId = envelopeId
        self.destination = destination
        self.submitter = submitter
        self.recordId = recordId
        self.deliveryCount = deliveryCount
        self.lastError = lastError
        self.diedAt = diedAt
    }
}

/// One state change of a message.
public struct HistoryEntry: Sendable, Hashable {
    public var messageId: MessageID
    public var destination: String
    public var event: DeliveryEvent
    public var at: Date
    /// The delivery count after the change.
    public var deliveryCount: Int
    /// The nack error, the rejection reason, or nil.
    public var detail: String?

    public init(
        messageId: MessageID, destination: String, event: DeliveryEvent, at: Date, deliveryCount: Int,
        detail: String?
    ) {
        self.messageId = messageId
        self.destination = destination
        self.event = event
        self.at = at
        self.deliveryCount = deliveryCount
        self.detail = detail
    }
}

/// Message counts of one destination participant.
public struct QueueDepth: Sendable, Hashable {
    public var queued: Int
    public var leased: Int
    public var dead: Int
    public var acked: Int

    public init(queued: Int = 0, leased: Int = 0, dead: Int = 0, acked: Int = 0) {
        self.queued = queued
        self.leased = leased
        self.dead = dead
        self.acked = acked
    }

    /// Adds `count` messages in `state` (a negative count moves them out).
    public mutating func add(_ state: DeliveryState, _ count: Int) {
        switch state {
        case .queued: queued += count
        case .leased: leased += count
        case .dead: dead += count
        case .acked: acked += count
        }
    }
}
