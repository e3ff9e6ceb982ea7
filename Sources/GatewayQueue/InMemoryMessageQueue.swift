import Foundation

/// The in-memory driver: the reference implementation of the contract and the oracle of the
/// differential test (its lease selection is `LeaseSelection`'s rule applied message by message),
/// for unit tests and as a baseline in benchmarks. Nothing survives the process.
public actor InMemoryMessageQueue: QueueStorage {
    private struct Envelope {
        var submitter: String
        var item: EnqueueItem
        var messages: [MessageID]
        var enqueuedAt: Date
    }

    private struct Message {
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

    public let configuration: QueueConfiguration
    private var envelopes: [String: Envelope] = [:]
    private var keys: [SubmitterKey: String] = [:]
    private var messages: [MessageID: Message] = [:]
    /// Per destination, per recordId: the messages holding their group (queued or leased, and at
    /// an outbox dead: `Delivery.holdsGroup`) in group order.
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
        var plan = EnqueuePlan()
        let results = try plan.add(submitter: submitter, items: items, envelopes: envelopes, keys: keys)
        store(plan, at: now)
        return results
    }

    /// What an enqueue will store, decided before anything changes (all or none).
    private struct EnqueuePlan {
        var fresh: [(submitter: String, item: EnqueueItem)] = []
        var planned: [SubmitterKey: EnqueueItem] = [:]
        var ids = Set<String>()

        /// Adds one submitter's items; throws `conflict` for an envelope id already stored (or
        /// planned) under another key.
        mutating func add(
            submitter: String, items: [EnqueueItem], envelopes: [String: Envelope], keys: [SubmitterKey: String]
        ) throws -> [EnqueuedItem] {
            try items.map { item in
                let key = SubmitterKey(submitter: submitter, key: item.key)
                if let first = keys[key], let stored = envelopes[first] {
                    return EnqueuedItem(envelopeId: first, destinations: stored.item.destinations, duplicate: true)
                }
                if let first = planned[key] {
                    return EnqueuedItem(envelopeId: first.envelopeId, destinations: first.destinations, duplicate: true)
                }
                guard envelopes[item.envelopeId] == nil, ids.insert(item.envelopeId).inserted else {
                    throw QueueError(.conflict, "envelope \(item.envelopeId) is already stored under another key")
                }
                planned[key] = item
                fresh.append((submitter, item))
                return EnqueuedItem(envelopeId: item.envelopeId, destinations: item.destinations, duplicate: false)
            }
        }
    }

    private func store(_ plan: EnqueuePlan, at: Date) {
        for (submitter, item) in plan.fresh {
            var ids: [MessageID] = []
            for destination in item.destinations {
                let id = MessageID(nextId)
                nextId += 1
                ids.append(id)
                let message = Message(
                    id: id, envelopeId: item.envelopeId, destination: destination, sequence: id.rawValue,
                    delivery: .enqueued(at: at))
                messages[id] = message
                insertPending(message, recordId: item.recordId, updatedAt: item.updatedAt)
                insertReady(message)
                record(message, [Delivery.Change(.queued, 0)], at: at)
            }
            envelopes[item.envelopeId] = Envelope(submitter: submitter, item: item, messages: ids, enqueuedAt: at)
            keys[SubmitterKey(submitter: submitter, key: item.key)] = item.envelopeId
        }
    }

    // MARK: - Storage

    public func update<Output: Sendable>(at now: Date, first: QueueStep<Int>?, _ step: QueueStep<Output>) throws -> Output {
        // An actor runs one call at a time: nothing else sees the state between the steps.
        if let first { apply(try first.decide(select(first.selection, at: now)).transitions) }
        return try run(step, at: now)
    }

    public func update<Before: Sendable, Output: Sendable>(
        at now: Date, before: QueueStep<Before>, first: QueueStep<Int>?, _ step: QueueStep<Output>
    ) throws -> (Before, Output) {
        let output = try run(before, at: now)
        // The steps after it decide without throwing (expiry, lease), as in `update(at:first:_:)`.
        return (output, try update(at: now, first: first, step))
    }

    /// Selects a step's rows, decides, and writes the transitions and what they forward.
    private func run<Output: Sendable>(_ step: QueueStep<Output>, at now: Date) throws -> Output {
        let (transitions, output) = try step.decide(select(step.selection, at: now))
        // What acks forward is planned (and may be refused) before anything is written.
        var plan = EnqueuePlan()
        for forward in transitions.compactMap(\.forward) {
            _ = try plan.add(submitter: forward.submitter, items: [forward.item], envelopes: envelopes, keys: keys)
        }
        apply(transitions)
        store(plan, at: now)
        return output
    }

    public func select(_ selection: QueueSelection, at now: Date) -> [StoredMessage] {
        switch selection {
        case .expiredLeases(let participant):
            let ids = participant.map { leased[$0] ?? [] } ?? leased.values.reduce(into: Set<MessageID>()) { $0.formUnion($1) }
            return ids.sorted().compactMap { messages[$0] }.filter { message in
                message.delivery.leaseExpiresAt.map { $0 <= now } ?? false
            }.map { row($0) }
        case .leasable(let participant, let max):
            return leasable(participant: participant, max: max, now: now)
        case .leaseHolders(let participant, let leaseTokens):
            return leaseTokens.compactMap { tokens[$0].flatMap { messages[$0] } }
                .filter { $0.destination == participant }.map { row($0) }
        case .message(let id):
            return messages[id].map { [row($0)] } ?? []
        case .messages(let ids):
            return Set(ids).sorted().compactMap { messages[$0] }.map { row($0) }
        case .envelope(let id):
            return (envelopes[id]?.messages ?? []).compactMap { messages[$0] }.map { row($0) }
        }
    }

    public func counts(at now: Date) -> QueueCounts {
        var counts = QueueCounts()
        for message in messages.values {
            counts.states[QueueCounts.Key(destination: message.destination, state: message.delivery.state), default: 0] += 1
            if message.delivery.state == .leased, let expiry = message.delivery.leaseExpiresAt, expiry <= now {
                let key = QueueCounts.Key(destination: message.destination, state: .leased, deliveryCount: message.delivery.deliveryCount)
                counts.expired[key, default: 0] += 1
            }
        }
        return counts
    }

    public func headers(destination: String, states: Set<DeliveryState>, after: MessageID?, limit: Int) -> [MessageHeader] {
        let found = messages.values.filter { message in
            message.destination == destination && states.contains(message.delivery.state) && after.map { message.id > $0 } ?? true
        }
        return found.sorted { $0.id < $1.id }.prefix(limit).compactMap { message in
            guard let envelope = envelopes[message.envelopeId] else { return nil }
            let item = envelope.item
            return MessageHeader(
                messageId: message.id, envelopeId: item.envelopeId, destination: message.destination, submitter: envelope.submitter,
                kind: item.kind, recordId: item.recordId, updatedAt: item.updatedAt, enqueuedAt: envelope.enqueuedAt,
                delivery: message.delivery)
        }
    }

    public func searchHeaders(_ search: MessageSearch, before: MessageID?, limit: Int) -> [MessageHeader] {
        var found: [MessageHeader] = []
        for message in messages.values where before.map({ message.id < $0 }) ?? true {
            guard let envelope = envelopes[message.envelopeId] else { continue }
            let item = envelope.item
            let header = MessageHeader(
                messageId: message.id, envelopeId: item.envelopeId, destination: message.destination, submitter: envelope.submitter,
                kind: item.kind, recordId: item.recordId, updatedAt: item.updatedAt, enqueuedAt: envelope.enqueuedAt,
                delivery: message.delivery, ackedAt: message.ackedAt, diedAt: message.diedAt)
            if search.matches(header, states: search.states) { found.append(header) }
        }
        return Array(found.sorted { $0.messageId > $1.messageId }.prefix(limit))
    }

    /// Walks the queued messages in lease order (availableAt, sequence), each checked against
    /// its group by `LeaseSelection.mayLease`. Debug builds (every test) also check the walk
    /// against `LeaseSelection.select` over all pending messages of the participant, so the oracle
    /// of the differential test is the pure rule itself; release builds skip the check.
    private func leasable(participant: String, max: Int, now: Date) -> [StoredMessage] {
        var chosen: [StoredMessage] = []
        for key in ready[participant] ?? [] {
            guard chosen.count < max, key.availableAt <= now else { break }
            guard let message = messages[key.id], let envelope = envelopes[message.envelopeId] else { continue }
            let group = pending[participant]?[envelope.item.recordId] ?? []
            let inFlight = group.contains { messages[$0]?.delivery.state == .leased }
            if LeaseSelection.mayLease(candidate(message, envelope), groupHead: group.first, groupInFlight: inFlight, now: now) {
                chosen.append(row(message))
            }
        }
        assert(chosen.map(\.id) == LeaseSelection.select(
            pendingCandidates(participant), max: max, now: now, outbox: Outbox.isOutbox(participant)),
            "the in-memory lease walk differs from LeaseSelection.select")
        return chosen
    }

    /// Every message holding its group at `participant` as a `LeaseSelection` candidate.
    private func pendingCandidates(_ participant: String) -> [LeaseSelection.Candidate] {
        (pending[participant] ?? [:]).values.joined().compactMap { id in
            guard let message = messages[id], let envelope = envelopes[message.envelopeId] else { return nil }
            return candidate(message, envelope)
        }
    }

    private func row(_ message: Message) -> StoredMessage {
        var content: StoredMessage.Content?
        if let envelope = envelopes[message.envelopeId] {
            let item = envelope.item
            content = StoredMessage.Content(
                envelopeId: item.envelopeId, submitter: envelope.submitter, kind: item.kind, recordId: item.recordId,
                updatedAt: item.updatedAt, payloadDigest: item.payloadDigest, envelope: item.envelope)
        }
        return StoredMessage(id: message.id, destination: message.destination, delivery: message.delivery, content: content)
    }

    /// Writes decided transitions, keeping the indexes in step with each message's state.
    private func apply(_ transitions: [Transition]) {
        for transition in transitions {
            guard var message = messages[transition.id], let envelope = envelopes[message.envelopeId] else { continue }
            let old = message.delivery
            switch old.state {
            case .queued: removeReady(ReadyKey(availableAt: old.availableAt, id: message.id), destination: message.destination)
            case .leased:
                leased[message.destination]?.remove(message.id)
                if let token = old.leaseToken { tokens[token] = nil }
            case .acked, .dead: break
            }
            message.delivery = transition.delivery
            message.diedAt = transition.diedAt
            if transition.delivery.state == .acked {
                message.receipt = transition.receipt
                message.ackedAt = transition.at
            }
            messages[message.id] = message
            switch transition.delivery.state {
            case .queued: insertReady(message)
            case .leased:
                leased[message.destination, default: []].insert(message.id)
                if let token = transition.delivery.leaseToken { tokens[token] = message.id }
            case .acked, .dead: break
            }
            let outbox = Outbox.isOutbox(message.destination)
            if old.holdsGroup(outbox: outbox) != transition.delivery.holdsGroup(outbox: outbox) {
                if transition.delivery.holdsGroup(outbox: outbox) {
                    insertPending(message, recordId: envelope.item.recordId, updatedAt: envelope.item.updatedAt)
                } else {
                    pending[message.destination]?[envelope.item.recordId]?.removeAll { $0 == message.id }
                    if pending[message.destination]?[envelope.item.recordId]?.isEmpty == true {
                        pending[message.destination]?[envelope.item.recordId] = nil
                    }
                }
            }
            record(message, transition.changes, at: transition.at)
        }
    }

    /// A receipt is an acked message of a destination other than an outbox.
    private func isReceipt(_ message: Message) -> Bool {
        message.ackedAt != nil && !Outbox.isOutbox(message.destination)
    }

    // MARK: - Reads

    public func receipts(submitter: String, since: Date, limit: Int) -> [StoredReceipt] {
        let found = messages.values.compactMap { message -> StoredReceipt? in
            guard isReceipt(message), let ackedAt = message.ackedAt, ackedAt > since,
                let envelope = envelopes[message.envelopeId], envelope.submitter == submitter
            else { return nil }
            return receipt(message, envelope)
        }
        return Array(found.sorted { ($0.ackedAt, $0.messageId) < ($1.ackedAt, $1.messageId) }.prefix(limit))
    }

    public func receipts(envelopeId: String) -> [StoredReceipt] {
        guard let envelope = envelopes[envelopeId] else { return [] }
        return envelope.messages.compactMap { id in
            guard let message = messages[id], isReceipt(message) else { return nil }
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

    public func history(envelopeId: String) -> [HistoryEntry] {
        historyByEnvelope[envelopeId] ?? []
    }

    public func storedEnvelope(id: String) -> StoredEnvelope? {
        guard let envelope = envelopes[id] else { return nil }
        let item = envelope.item
        return StoredEnvelope(
            submitter: envelope.submitter, kind: item.kind, recordId: item.recordId, updatedAt: item.updatedAt,
            payloadDigest: item.payloadDigest, envelope: item.envelope, destinations: item.destinations)
    }

    public func oldestQueued() -> [String: Date] {
        var oldest: [String: MessageID] = [:]
        for message in messages.values where message.delivery.isPending {
            if let id = oldest[message.destination], id < message.id { continue }
            oldest[message.destination] = message.id
        }
        return oldest.compactMapValues { id in messages[id].flatMap { envelopes[$0.envelopeId]?.enqueuedAt } }
    }

    public func purgeAcked(before cutoff: Date, limit: Int, archive: @escaping PurgeArchive) async throws -> Int? {
        let old = messages.values.filter { message in
            message.delivery.state == .acked && (message.ackedAt ?? .distantFuture) < cutoff
        }.sorted { ($0.ackedAt ?? .distantPast, $0.id) < ($1.ackedAt ?? .distantPast, $1.id) }.prefix(limit)
        let settled = old.compactMap { message -> SettledMessage? in
            guard let envelope = envelopes[message.envelopeId] else { return nil }
            let item = envelope.item
            return SettledMessage(
                messageId: message.id, envelopeId: message.envelopeId, destination: message.destination,
                submitter: envelope.submitter, kind: item.kind, recordId: item.recordId, updatedAt: item.updatedAt,
                payloadDigest: item.payloadDigest, envelope: item.envelope, enqueuedAt: envelope.enqueuedAt,
                outcome: message.delivery.outcome ?? .accepted, receipt: message.receipt, ackedAt: message.ackedAt ?? .distantPast,
                history: (historyByEnvelope[message.envelopeId] ?? []).filter { $0.messageId == message.id })
        }
        guard !settled.isEmpty else { return 0 }
        try await archive(settled)
        var purged = 0
        // Re-read after the archive (the actor may have run other calls meanwhile): acked stays acked.
        for id in settled.map(\.messageId) {
            guard let message = messages[id], message.delivery.state == .acked else { continue }
            purged += 1
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
        return purged
    }

    public func ping() {}

    // MARK: - Internals

    private func candidate(_ message: Message, _ envelope: Envelope) -> LeaseSelection.Candidate {
        LeaseSelection.Candidate(
            id: message.id, recordId: envelope.item.recordId, updatedAt: envelope.item.updatedAt,
            sequence: message.sequence, state: message.delivery.state, availableAt: message.delivery.availableAt)
    }

    private func receipt(_ message: Message, _ envelope: Envelope) -> StoredReceipt {
        StoredReceipt(
            messageId: message.id, envelopeId: message.envelopeId, destination: message.destination,
            recordId: envelope.item.recordId, outcome: message.delivery.outcome ?? .accepted,
            receipt: message.receipt, ackedAt: message.ackedAt ?? .distantPast)
    }

    private func insertReady(_ message: Message) {
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

    private func insertPending(_ message: Message, recordId: String, updatedAt: String) {
        var group = pending[message.destination]?[recordId] ?? []
        let key = (updatedAt, message.sequence)
        let index = group.firstIndex { id in
            guard let other = messages[id], let envelope = envelopes[other.envelopeId] else { return false }
            return key < (envelope.item.updatedAt, other.sequence)
        } ?? group.endIndex
        group.insert(message.id, at: index)
        pending[message.destination, default: [:]][recordId] = group
    }

    private func record(_ message: Message, _ changes: [Delivery.Change], at: Date) {
        for change in changes {
            historyByEnvelope[message.envelopeId, default: []].append(HistoryEntry(
                messageId: message.id, destination: message.destination, event: change.event, at: at,
                deliveryCount: change.deliveryCount, detail: change.detail))
        }
    }
}
