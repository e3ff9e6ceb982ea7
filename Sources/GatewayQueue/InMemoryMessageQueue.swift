import Foundation

/// The in-memory driver: the reference implementation of the contract, for unit tests and as a
/// baseline in benchmarks. Nothing survives the process.
public actor InMemoryMessageQueue: MessageQueue {
    private struct StoredEnvelope {
        var submitter: String
        var item: EnqueueItem
        var messages: [MessageID]
    }

    private struct StoredMessage {
        var id: MessageID
        var envelopeId: String
        var destination: String
        var sequence: Int64
        var delivery: Delivery
        var receipt: [UInt8]?
        var ackedAt: Date?
        var diedAt: Date?
    }

    private struct ReadyKey: Comparable {
        var availableAt: Date
        var id: MessageID
        static func < (a: ReadyKey, b: ReadyKey) -> Bool { (a.availableAt, a.id) < (b.availableAt, b.id) }
    }

    private struct SubmitterKey: Hashable {
        var submitter: String
        var key: IdempotencyKey
    }

    private let configuration: QueueConfiguration
    private var envelopes: [String: StoredEnvelope] = [:]
    private var keys: [SubmitterKey: String] = [:]
    private var messages: [MessageID: StoredMessage] = [:]
    /// Per destination, per recordId: the pending (queued or leased) messages in group order.
    private var pending: [String: [String: [MessageID]]] = [:]
    private var leased: [String: Set<MessageID>] = [:]
    /// Per destination, the queued messages in lease order (availableAt, sequence): lease walks
    /// it from the start instead of looking at every group.
    private var ready: [String: [ReadyKey]] = [:]
    private var tokens: [LeaseToken: MessageID] = [:]
    private var historyByEnvelope: [String: [HistoryEntry]] = [:]
    private var nextId: Int64 = 1

    public init(configuration: QueueConfiguration = QueueConfiguration()) {
        self.configuration = configuration
    }

    private var now: Date { configuration.clock.now() }

    public func enqueue(submitter: String, items: [EnqueueItem]) throws -> [EnqueuedItem] {
        try QueueValidation.check(submitter: submitter, items: items)
        // Decide everything before changing anything: all or none.
        var results: [EnqueuedItem] = []
        var fresh: [EnqueueItem] = []
        var seenInCall: [IdempotencyKey: EnqueueItem] = [:]
        for item in items {
            if let first = keys[SubmitterKey(submitter: submitter, key: item.key)], let stored = envelopes[first] {
                results.append(EnqueuedItem(envelopeId: first, destinations: stored.item.destinations, duplicate: true))
            } else if let first = seenInCall[item.key] {
                results.append(EnqueuedItem(envelopeId: first.envelopeId, destinations: first.destinations, duplicate: true))
            } else {
                guard envelopes[item.envelopeId] == nil else {
                    throw QueueError(.conflict, "envelope \(item.envelopeId) is already stored under another key")
                }
                seenInCall[item.key] = item
                fresh.append(item)
                results.append(EnqueuedItem(envelopeId: item.envelopeId, destinations: item.destinations, duplicate: false))
            }
        }
        let at = now
        for item in fresh {
            var ids: [MessageID] = []
            for destination in item.destinations {
                let id = MessageID(nextId)
                nextId += 1
                ids.append(id)
                let message = StoredMessage(
                    id: id, envelopeId: item.envelopeId, destination: destination, sequence: id.rawValue,
                    delivery: .enqueued(at: at))
                messages[id] = message
                insertPending(message, recordId: item.recordId, updatedAt: item.updatedAt)
                insertReady(message)
                record(message, [Delivery.Change(.queued, 0)], at: at)
            }
            envelopes[item.envelopeId] = StoredEnvelope(submitter: submitter, item: item, messages: ids)
            keys[SubmitterKey(submitter: submitter, key: item.key)] = item.envelopeId
        }
        return results
    }

    public func lease(participant: String, max: Int, visibility: TimeInterval) throws -> [LeasedMessage] {
        try QueueValidation.check(max: max, visibility: visibility)
        let at = now
        reclaim(participant: participant, at: at)
        // Walk the queued messages in lease order; each is checked against its group.
        var chosen: [ReadyKey] = []
        for key in ready[participant] ?? [] {
            guard chosen.count < max, key.availableAt <= at else { break }
            guard let message = messages[key.id], let envelope = envelopes[message.envelopeId] else { continue }
            let group = pending[participant]?[envelope.item.recordId] ?? []
            let inFlight = group.contains { messages[$0]?.delivery.state == .leased }
            if LeaseSelection.mayLease(candidate(message, envelope), groupHead: group.first, groupInFlight: inFlight, now: at) {
                chosen.append(key)
            }
        }
        for key in chosen { removeReady(key, destination: participant) }
        var leasedNow: [LeasedMessage] = []
        for id in chosen.map(\.id) {
            guard var message = messages[id], let envelope = envelopes[message.envelopeId] else { continue }
            let token = LeaseToken.random()
            let changes = try message.delivery.lease(token: token, now: at, visibility: visibility)
            messages[id] = message
            tokens[token] = id
            leased[participant, default: []].insert(id)
            record(message, changes, at: at)
            leasedNow.append(leasedMessage(message, envelope, token: token, expiresAt: message.delivery.leaseExpiresAt ?? at))
        }
        return leasedNow
    }

    public func leased(participant: String, leaseToken: LeaseToken) -> LeasedMessage? {
        let at = now
        guard let id = tokens[leaseToken], let message = messages[id], message.destination == participant,
              message.delivery.state == .leased, message.delivery.leaseToken == leaseToken,
              let expiresAt = message.delivery.leaseExpiresAt, expiresAt > at,
              let envelope = envelopes[message.envelopeId]
        else { return nil }
        return leasedMessage(message, envelope, token: leaseToken, expiresAt: expiresAt)
    }

    private func leasedMessage(_ message: StoredMessage, _ envelope: StoredEnvelope, token: LeaseToken, expiresAt: Date) -> LeasedMessage {
        let item = envelope.item
        return LeasedMessage(
            messageId: message.id, envelopeId: item.envelopeId, destination: message.destination, submitter: envelope.submitter,
            kind: item.kind, recordId: item.recordId, updatedAt: item.updatedAt, payloadDigest: item.payloadDigest,
            envelope: item.envelope, deliveryCount: message.delivery.deliveryCount, leaseToken: token, leaseExpiresAt: expiresAt)
    }

    public func ack(participant: String, _ acknowledgements: [Acknowledgement]) -> [QueueError?] {
        let at = now
        return acknowledgements.map { ack in
            do {
                var message = try holder(of: ack.leaseToken, participant: participant)
                let changes = try message.delivery.ack(token: ack.leaseToken, outcome: ack.outcome, now: at)
                message.receipt = ack.receipt
                message.ackedAt = at
                settle(&message, token: ack.leaseToken, changes: changes, at: at)
                return nil
            } catch let error as QueueError {
                return error
            } catch {
                return QueueError(.storage, "\(type(of: error))")
            }
        }
    }

    public func nack(participant: String, leaseToken: LeaseToken, error: String) throws {
        let at = now
        var message = try holder(of: leaseToken, participant: participant)
        let changes = try message.delivery.nack(
            token: leaseToken, error: error, now: at, policy: configuration.retry, random: configuration.random())
        settle(&message, token: leaseToken, changes: changes, at: at)
    }

    @discardableResult
    public func reclaimExpired() -> Int {
        let at = now
        return leased.keys.reduce(0) { $0 + reclaim(participant: $1, at: at) }
    }

    public func receipts(submitter: String, since: Date, limit: Int) -> [StoredReceipt] {
        let found = messages.values.compactMap { message -> StoredReceipt? in
            guard let ackedAt = message.ackedAt, ackedAt > since, let envelope = envelopes[message.envelopeId],
                envelope.submitter == submitter
            else { return nil }
            return receipt(message, envelope)
        }
        return Array(found.sorted { ($0.ackedAt, $0.messageId) < ($1.ackedAt, $1.messageId) }.prefix(limit))
    }

    public func receipts(envelopeId: String) -> [StoredReceipt] {
        guard let envelope = envelopes[envelopeId] else { return [] }
        return envelope.messages.compactMap { id in
            guard let message = messages[id], message.ackedAt != nil else { return nil }
            return receipt(message, envelope)
        }
    }

    public func deadLetters(participant: String, limit: Int) -> [DeadLetter] {
        let dead = messages.values.filter { $0.destination == participant && $0.delivery.state == .dead }
            .sorted { ($0.diedAt ?? .distantPast, $0.id) < ($1.diedAt ?? .distantPast, $1.id) }
        return dead.prefix(limit).compactMap { message in
            guard let envelope = envelopes[message.envelopeId] else { return nil }
            return DeadLetter(
                messageId: message.id, envelopeId: message.envelopeId, destination: message.destination,
                submitter: envelope.submitter, recordId: envelope.item.recordId,
                deliveryCount: message.delivery.deliveryCount, lastError: message.delivery.lastError,
                diedAt: message.diedAt ?? .distantPast)
        }
    }

    public func replay(messageId: MessageID) throws {
        guard var message = messages[messageId], let envelope = envelopes[message.envelopeId] else {
            throw QueueError(.notFound, "no message \(messageId)")
        }
        let at = now
        let changes = try message.delivery.replay(now: at)
        message.diedAt = nil
        messages[messageId] = message
        insertPending(message, recordId: envelope.item.recordId, updatedAt: envelope.item.updatedAt)
        insertReady(message)
        record(message, changes, at: at)
    }

    public func history(envelopeId: String) -> [HistoryEntry] {
        historyByEnvelope[envelopeId] ?? []
    }

    public func depths() -> [String: QueueDepth] {
        reclaimExpired()
        var depths: [String: QueueDepth] = [:]
        for message in messages.values {
            switch message.delivery.state {
            case .queued: depths[message.destination, default: QueueDepth()].queued += 1
            case .leased: depths[message.destination, default: QueueDepth()].leased += 1
            case .dead: depths[message.destination, default: QueueDepth()].dead += 1
            case .acked: depths[message.destination, default: QueueDepth()].acked += 1
            }
        }
        return depths
    }

    @discardableResult
    public func purgeAcked(before cutoff: Date) -> Int {
        let old = messages.values.filter { message in
            message.delivery.state == .acked && (message.ackedAt ?? .distantFuture) < cutoff
        }
        for message in old {
            messages[message.id] = nil
            guard var envelope = envelopes[message.envelopeId] else { continue }
            envelope.messages.removeAll { $0 == message.id }
            historyByEnvelope[message.envelopeId]?.removeAll { $0.messageId == message.id }
            if envelope.messages.isEmpty {
                envelopes[message.envelopeId] = nil
                historyByEnvelope[message.envelopeId] = nil
                keys[SubmitterKey(submitter: envelope.submitter, key: envelope.item.key)] = nil
            } else {
                envelopes[message.envelopeId] = envelope
            }
        }
        return old.count
    }

    public func ping() {}

    // MARK: - Internals

    private func candidate(_ message: StoredMessage, _ envelope: StoredEnvelope) -> LeaseSelection.Candidate {
        LeaseSelection.Candidate(
            id: message.id, recordId: envelope.item.recordId, updatedAt: envelope.item.updatedAt,
            sequence: message.sequence, state: message.delivery.state, availableAt: message.delivery.availableAt)
    }

    private func receipt(_ message: StoredMessage, _ envelope: StoredEnvelope) -> StoredReceipt {
        StoredReceipt(
            messageId: message.id, envelopeId: message.envelopeId, destination: message.destination,
            recordId: envelope.item.recordId, outcome: message.delivery.outcome ?? .accepted,
            receipt: message.receipt, ackedAt: message.ackedAt ?? .distantPast)
    }

    /// The message leased under `token`, if it is `participant`'s.
    private func holder(of token: LeaseToken, participant: String) throws -> StoredMessage {
        guard let id = tokens[token], let message = messages[id], message.destination == participant else {
            throw QueueError(.staleLease, "the lease is not current")
        }
        return message
    }

    /// Stores a message after a transition out of `leased` and keeps the indexes in step.
    private func settle(_ message: inout StoredMessage, token: LeaseToken?, changes: [Delivery.Change], at: Date) {
        if let token { tokens[token] = nil }
        leased[message.destination]?.remove(message.id)
        if message.delivery.state == .dead { message.diedAt = at }
        if message.delivery.state == .queued { insertReady(message) }
        if !message.delivery.isPending, let envelope = envelopes[message.envelopeId] {
            pending[message.destination]?[envelope.item.recordId]?.removeAll { $0 == message.id }
            if pending[message.destination]?[envelope.item.recordId]?.isEmpty == true {
                pending[message.destination]?[envelope.item.recordId] = nil
            }
        }
        messages[message.id] = message
        record(message, changes, at: at)
    }

    @discardableResult
    private func reclaim(participant: String, at: Date) -> Int {
        var count = 0
        for id in leased[participant] ?? [] {
            guard var message = messages[id] else { continue }
            let token = message.delivery.leaseToken
            let changes = message.delivery.expireIfDue(now: at, policy: configuration.retry, random: configuration.random())
            guard !changes.isEmpty else { continue }
            settle(&message, token: token, changes: changes, at: at)
            count += 1
        }
        return count
    }

    private func insertReady(_ message: StoredMessage) {
        let key = ReadyKey(availableAt: message.delivery.availableAt, id: message.id)
        let index = readyIndex(key, destination: message.destination)
        ready[message.destination, default: []].insert(key, at: index)
    }

    private func removeReady(_ key: ReadyKey, destination: String) {
        let index = readyIndex(key, destination: destination)
        if ready[destination]?.indices.contains(index) == true, ready[destination]?[index] == key {
            ready[destination]?.remove(at: index)
        }
    }

    /// First position whose key is not below `key` (binary search).
    private func readyIndex(_ key: ReadyKey, destination: String) -> Int {
        let keys = ready[destination] ?? []
        var low = 0
        var high = keys.count
        while low < high {
            let middle = (low + high) / 2
            if keys[middle] < key { low = middle + 1 } else { high = middle }
        }
        return low
    }

    private func insertPending(_ message: StoredMessage, recordId: String, updatedAt: String) {
        var group = pending[message.destination]?[recordId] ?? []
        let key = (updatedAt, message.sequence)
        let index = group.firstIndex { id in
            guard let other = messages[id], let envelope = envelopes[other.envelopeId] else { return false }
            return key < (envelope.item.updatedAt, other.sequence)
        } ?? group.endIndex
        group.insert(message.id, at: index)
        pending[message.destination, default: [:]][recordId] = group
    }

    private func record(_ message: StoredMessage, _ changes: [Delivery.Change], at: Date) {
        for change in changes {
            historyByEnvelope[message.envelopeId, default: []].append(HistoryEntry(
                messageId: message.id, destination: message.destination, event: change.event, at: at,
                deliveryCount: change.deliveryCount, detail: change.detail))
        }
    }
}
