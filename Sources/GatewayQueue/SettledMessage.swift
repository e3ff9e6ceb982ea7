import Foundation

/// An acked message with everything the retention purge deletes with it: the signed envelope (as
/// enqueued), the outcome and signed receipt of its destination, and its history. The retention
/// job hands these to the archive before they are deleted (`purgeAcked(before:limit:archive:)`).
public struct SettledMessage: Sendable, Hashable {
    public var messageId: MessageID
    public var envelopeId: String
    public var destination: String
    public var submitter: String
    public var kind: String
    public var recordId: String
    public var updatedAt: String
    public var payloadDigest: String
    /// The signed envelope JSON as enqueued.
    public var envelope: [UInt8]
    public var enqueuedAt: Date
    public var outcome: AckOutcome
    /// The signed receipt JSON stored with the ack (none for a message given up by `discard`).
    public var receipt: [UInt8]?
    public var ackedAt: Date
    /// The message's state changes, in order (its `queued` event first).
    public var history: [HistoryEntry]

    public init(
        messageId: MessageID, envelopeId: String, destination: String, submitter: String, kind: String, recordId: String,
        updatedAt: String, payloadDigest: String, envelope: [UInt8], enqueuedAt: Date, outcome: AckOutcome,
        receipt: [UInt8]?, ackedAt: Date, history: [HistoryEntry]
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
        self.enqueuedAt = enqueuedAt
        self.outcome = outcome
        self.receipt = receipt
        self.ackedAt = ackedAt
        self.history = history
    }
}

/// What the archive callback of a purge batch receives and may refuse: throwing leaves every
/// message of the batch in place.
public typealias PurgeArchive = @Sendable ([SettledMessage]) async throws -> Void

extension MessageQueue {
    /// Deletes every acked message acked before `cutoff` (with their history, and envelopes left
    /// with no message), keeping no copy: batches of `purgeAcked(before:limit:archive:)` until one
    /// is short. Returns messages deleted (0 when another process was purging).
    @discardableResult
    public func purgeAcked(before cutoff: Date) async throws -> Int {
        try await purgeAll(before: cutoff, limit: 1000) { _ in }
    }

    /// Purges in batches of `limit`, each handed to `archive` before it is deleted, until a batch
    /// is short or another process holds the purge. Returns messages deleted.
    @discardableResult
    public func purgeAll(before cutoff: Date, limit: Int, archive: @escaping PurgeArchive) async throws -> Int {
        var total = 0
        while !Task.isCancelled {
            guard let purged = try await purgeAcked(before: cutoff, limit: limit, archive: archive) else { break }
            total += purged
            if purged < limit { break }
        }
        return total
    }
}
