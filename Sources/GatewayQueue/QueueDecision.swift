import Foundation

/// Every transition of the queue, decided once for every driver: pure functions from the rows a
/// storage selected to the transitions it must write and the answer to the caller. Each goes
/// through `Delivery`, whose rules they apply to several messages.
public enum QueueDecision {
    /// Leases each selected message until `now + visibility` under a new token.
    public static func lease(
        _ rows: [StoredMessage], now: Date, visibility: TimeInterval, stored: (Date) -> Date
    ) throws -> (transitions: [Transition], output: [LeasedMessage]) {
        var transitions: [Transition] = []
        var leased: [LeasedMessage] = []
        transitions.reserveCapacity(rows.count)
        leased.reserveCapacity(rows.count)
        for row in rows {
            guard let content = row.content else { throw QueueError(.storage, "message \(row.id) selected without its envelope") }
            var delivery = row.delivery
            let token = LeaseToken.random()
            let changes = try delivery.lease(token: token, now: now, visibility: visibility)
            transitions.append(Transition(id: row.id, delivery: delivery, changes: changes, at: now))
            leased.append(leasedMessage(row.id, row.destination, content, delivery, token: token, expiresAt: stored(now + visibility)))
        }
        return (transitions, leased)
    }

    /// The lease `token` of `participant` when it is current at `now` (leased, not expired).
    public static func currentLease(_ rows: [StoredMessage], token: LeaseToken, now: Date) -> LeasedMessage? {
        guard let row = rows.first(where: { $0.delivery.leaseToken == token }), let content = row.content,
            (try? row.delivery.checkLease(token, now: now)) != nil, let expiresAt = row.delivery.leaseExpiresAt
        else { return nil }
        return leasedMessage(row.id, row.destination, content, row.delivery, token: token, expiresAt: expiresAt)
    }

    /// Settles a batch in order: each acknowledgement whose lease is current is acked with its
    /// receipt; the others are answered with their refusal (a token repeated in the batch is
    /// stale the second time, its message being acked by then).
    public static func ack(
        _ rows: [StoredMessage], _ acknowledgements: [Acknowledgement], now: Date
    ) -> (transitions: [Transition], output: [QueueError?]) {
        var holders: [LeaseToken: StoredMessage] = [:]
        for row in rows { if let token = row.delivery.leaseToken { holders[token] = row } }
        return each(acknowledgements, in: holders, key: \.leaseToken, missing: { _ in QueueError(.staleLease, "the lease is not current") }) {
            ack, row in
            let changes = try row.delivery.ack(token: ack.leaseToken, outcome: ack.outcome, now: now, detail: ack.detail)
            return Transition(id: row.id, delivery: row.delivery, changes: changes, at: now, receipt: ack.receipt, forward: ack.forward)
        }
    }

    /// Applies `transition` to the row of each item in order (the row as the items before it left
    /// it): the transitions of those it applied to, and per item nil or its refusal (`missing`
    /// when no row has its key; what `transition` threw otherwise).
    private static func each<Item, Key: Hashable>(
        _ items: [Item], in rows: [Key: StoredMessage], key: (Item) -> Key, missing: (Key) -> QueueError,
        _ transition: (Item, inout StoredMessage) throws -> Transition
    ) -> (transitions: [Transition], output: [QueueError?]) {
        var rows = rows
        var transitions: [Transition] = []
        let results = items.map { item -> QueueError? in
            guard var row = rows[key(item)] else { return missing(key(item)) }
            do {
                transitions.append(try transition(item, &row))
                rows[key(item)] = row
                return nil
            } catch let error as QueueError {
                return error
            } catch {
                return QueueError(.storage, "\(type(of: error))")
            }
        }
        return (transitions, results)
    }

    /// Gives the lease `token` back as failed: queued with back-off, or dead.
    public static func nack(
        _ rows: [StoredMessage], token: LeaseToken, error: String, now: Date, configuration: QueueConfiguration
    ) throws -> (transitions: [Transition], output: Void) {
        let destination = rows.first(where: { $0.delivery.leaseToken == token })?.destination ?? ""
        return try settleLease(rows, token: token, now: now) {
            try $0.nack(token: token, error: error, now: now, policy: configuration.retry.for(destination), random: configuration.random())
        }
    }

    /// Makes the message of the lease `token` dead at once with `reason` as its last error.
    public static func deadLetter(
        _ rows: [StoredMessage], token: LeaseToken, reason: String, now: Date
    ) throws -> (transitions: [Transition], output: Void) {
        try settleLease(rows, token: token, now: now) { try $0.deadLetter(token: token, reason: reason, now: now) }
    }

    /// Applies `transition` to the holder of `token` among `rows` (stale when none holds it).
    private static func settleLease(
        _ rows: [StoredMessage], token: LeaseToken, now: Date, _ transition: (inout Delivery) throws -> [Delivery.Change]
    ) throws -> (transitions: [Transition], output: Void) {
        guard var row = rows.first(where: { $0.delivery.leaseToken == token }) else {
            throw QueueError(.staleLease, "the lease is not current")
        }
        let changes = try transition(&row.delivery)
        return ([Transition(id: row.id, delivery: row.delivery, changes: changes, at: now)], ())
    }

    /// Returns the expired leases among `rows` to the queue (or the dead letters); outputs how many.
    public static func expire(
        _ rows: [StoredMessage], now: Date, configuration: QueueConfiguration
    ) -> (transitions: [Transition], output: Int) {
        let transitions = rows.compactMap { row -> Transition? in
            var delivery = row.delivery
            let changes = delivery.expireIfDue(now: now, policy: configuration.retry.for(row.destination), random: configuration.random())
            return changes.isEmpty ? nil : Transition(id: row.id, delivery: delivery, changes: changes, at: now)
        }
        return (transitions, transitions.count)
    }

    /// A dead message back to the queue.
    public static func replay(_ rows: [StoredMessage], id: MessageID, now: Date) throws -> (transitions: [Transition], output: Void) {
        try change(rows, id: id, now: now) { try $0.replay(now: now) }
    }

    /// Dead messages back to the queue, in the order of `ids`: each found and dead is replayed, the
    /// others are answered with their refusal (an id repeated is `invalid-state` the second time,
    /// its message being queued by then).
    public static func replay(_ rows: [StoredMessage], ids: [MessageID], now: Date) -> (transitions: [Transition], output: [QueueError?]) {
        let found = Dictionary(rows.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        return each(ids, in: found, key: { $0 }, missing: { QueueError(.notFound, "no message \($0)") }) { _, row in
            let changes = try row.delivery.replay(now: now)
            return Transition(id: row.id, delivery: row.delivery, changes: changes, at: now)
        }
    }

    /// A dead message acked, rejected `discarded`.
    public static func discard(_ rows: [StoredMessage], id: MessageID, now: Date) throws -> (transitions: [Transition], output: Void) {
        try change(rows, id: id, now: now) { try $0.discard() }
    }

    /// Applies `transition` to the message `id` among `rows` (not found when it is not there).
    private static func change(
        _ rows: [StoredMessage], id: MessageID, now: Date, _ transition: (inout Delivery) throws -> [Delivery.Change]
    ) throws -> (transitions: [Transition], output: Void) {
        guard var row = rows.first(where: { $0.id == id }) else { throw QueueError(.notFound, "no message \(id)") }
        let changes = try transition(&row.delivery)
        return ([Transition(id: row.id, delivery: row.delivery, changes: changes, at: now)], ())
    }

    /// Settles, without a lease, the message of `destination` among an envelope's messages
    /// (`rows`, every message of the envelope) with the outcome its node reported: stored as an ack
    /// is, unless it is already acked (the first settlement stands). An outbox is no destination
    /// that a receipt settles.
    public static func settleRemote(
        _ rows: [StoredMessage], destination: String, outcome: AckOutcome, receipt: [UInt8]?, now: Date
    ) -> (transitions: [Transition], output: RemoteSettlement) {
        guard !rows.isEmpty else { return ([], .unknownEnvelope) }
        guard !Outbox.isOutbox(destination), var row = rows.first(where: { $0.destination == destination }) else {
            return ([], .notADestination)
        }
        guard let changes = try? row.delivery.settle(outcome: outcome) else { return ([], .duplicate) }
        return ([Transition(id: row.id, delivery: row.delivery, changes: changes, at: now, receipt: receipt)], .stored)
    }

    /// Depths as they are at `now`: an expired lease counts where its expiry puts it (queued, or
    /// dead after its last allowed delivery) although no one has reclaimed it yet.
    public static func depths(_ counts: QueueCounts, now: Date, configuration: QueueConfiguration) -> [String: QueueDepth] {
        var depths: [String: QueueDepth] = [:]
        for (key, count) in counts.states { depths[key.destination, default: QueueDepth()].add(key.state, count) }
        for (key, count) in counts.expired {
            var delivery = Delivery(state: .leased, deliveryCount: key.deliveryCount, availableAt: now, leaseExpiresAt: now)
            _ = delivery.expireIfDue(now: now, policy: configuration.retry.for(key.destination), random: 0)
            depths[key.destination, default: QueueDepth()].add(.leased, -count)
            depths[key.destination, default: QueueDepth()].add(delivery.state, count)
        }
        return depths
    }

    private static func leasedMessage(
        _ id: MessageID, _ destination: String, _ content: StoredMessage.Content, _ delivery: Delivery, token: LeaseToken,
        expiresAt: Date
    ) -> LeasedMessage {
        LeasedMessage(
            messageId: id, envelopeId: content.envelopeId, destination: destination, submitter: content.submitter,
            kind: content.kind, recordId: content.recordId, updatedAt: content.updatedAt, payloadDigest: content.payloadDigest,
            envelope: content.envelope, deliveryCount: delivery.deliveryCount, leaseToken: token, leaseExpiresAt: expiresAt)
    }
}
