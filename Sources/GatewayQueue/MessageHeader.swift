import Foundation

/// One message of a destination's inbox as its header: what it carries and where its delivery
/// stands, without the envelope's bytes (`MessageQueue.inbox`).
public struct MessageHeader: Sendable, Hashable {
    public var messageId: MessageID
    public var envelopeId: String
    public var destination: String
    public var submitter: String
    public var kind: String
    public var recordId: String
    public var updatedAt: String
    /// When the envelope was enqueued.
    public var enqueuedAt: Date
    /// Its delivery state (`inbox` gives the state as of the read: an expired lease as queued or
    /// dead, where reclaiming it will put it).
    public var delivery: Delivery
    /// When it was acked (`search` gives it for acked messages; nil otherwise).
    public var ackedAt: Date?
    /// When it became dead, as dead letters give it (`search` gives it for messages stored dead;
    /// nil otherwise, also for an expired lease that `search` shows as dead before it is reclaimed).
    public var diedAt: Date?

    public init(
        messageId: MessageID, envelopeId: String, destination: String, submitter: String, kind: String, recordId: String,
        updatedAt: String, enqueuedAt: Date, delivery: Delivery, ackedAt: Date? = nil, diedAt: Date? = nil
    ) {
        self.messageId = messageId
        self.envelopeId = envelopeId
        self.destination = destination
        self.submitter = submitter
        self.kind = kind
        self.recordId = recordId
        self.updatedAt = updatedAt
        self.enqueuedAt = enqueuedAt
        self.delivery = delivery
        self.ackedAt = ackedAt
        self.diedAt = diedAt
    }
}

/// One page of an inbox (`MessageQueue.inbox`).
public struct InboxPage: Sendable, Hashable {
    /// The headers, by message id (enqueue order).
    public var headers: [MessageHeader]
    /// Where the next page starts (give it as `after`) when more messages may follow; nil at the
    /// end. A page may hold fewer than `limit` headers and still have a next one.
    public var next: MessageID?

    public init(headers: [MessageHeader], next: MessageID?) {
        self.headers = headers
        self.next = next
    }
}

extension QueueValidation {
    /// The states an inbox page lists: queued, leased and dead (acked messages are settled, read
    /// through receipts and history); a positive limit.
    public static func check(inboxStates states: Set<DeliveryState>, limit: Int) throws {
        guard limit > 0 else { throw QueueError(.invalidArgument, "limit must be positive") }
        guard !states.isEmpty, states.isSubset(of: MessageHeader.inboxStates) else {
            throw QueueError(.invalidArgument, "an inbox lists queued, leased and dead messages")
        }
    }
}

extension MessageHeader {
    /// What an inbox page may list.
    public static let inboxStates: Set<DeliveryState> = [.queued, .leased, .dead]
}
