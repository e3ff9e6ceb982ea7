import Foundation

/// The queue operations that change delivery states, written once for every driver: each selects
/// through the storage, lets `QueueDecision` decide and has the storage write the result in the
/// same transaction.
extension QueueStorage {
    /// The queue's time, in the storage's resolution.
    private var now: Date { stored(configuration.clock.now()) }

    public func lease(participant: String, max: Int, visibility: TimeInterval) async throws -> [LeasedMessage] {
        try QueueValidation.check(max: max, visibility: visibility)
        return try await checkedLease(participant: participant, max: max, visibility: visibility, at: now)
    }

    public func leased(participant: String, leaseToken: LeaseToken) async throws -> LeasedMessage? {
        let now = now
        let rows = try await select(.leaseHolders(participant: participant, tokens: [leaseToken]), at: now)
        return QueueDecision.currentLease(rows, token: leaseToken, now: now)
    }

    public func ack(participant: String, _ acknowledgements: [Acknowledgement]) async throws -> [QueueError?] {
        guard !acknowledgements.isEmpty else { return [] }
        try Self.check(acknowledgements)
        let now = now
        if let answers = try await ackAtOnce(participant: participant, acknowledgements, at: now) { return answers }
        return try await update(at: now, first: nil, ackStep(participant: participant, acknowledgements, at: now))
    }

    /// The acks, then the lease, each as `ack` and `lease` run them. A storage that does both at
    /// once (`ackAtOnce`, `leaseAtOnce`: PostgreSQL's procedures, each committing inside its call)
    /// runs them one after the other, one round trip each; otherwise (and when an ack forwards
    /// something) the acks' step and the lease's steps are one transaction.
    public func ackAndLease(
        participant: String, _ acknowledgements: [Acknowledgement], max: Int, visibility: TimeInterval
    ) async throws -> (acknowledged: [QueueError?], leased: [LeasedMessage]) {
        guard !acknowledgements.isEmpty else { return ([], try await lease(participant: participant, max: max, visibility: visibility)) }
        // Everything is checked before anything is stored, not even the acks.
        try QueueValidation.check(max: max, visibility: visibility)
        try Self.check(acknowledgements)
        let now = now
        if let acknowledged = try await ackAtOnce(participant: participant, acknowledgements, at: now) {
            return (acknowledged, try await checkedLease(participant: participant, max: max, visibility: visibility, at: now))
        }
        let lease = leaseSteps(participant: participant, max: max, visibility: visibility, at: now)
        let (acknowledged, leased) = try await update(
            at: now, before: ackStep(participant: participant, acknowledgements, at: now), first: lease.expire, lease.step)
        return (acknowledged, leased)
    }

    /// `lease` after its arguments were checked: at once when the storage can, else its steps.
    private func checkedLease(participant: String, max: Int, visibility: TimeInterval, at now: Date) async throws -> [LeasedMessage] {
        if let leased = try await leaseAtOnce(participant: participant, max: max, visibility: visibility, at: now) { return leased }
        let lease = leaseSteps(participant: participant, max: max, visibility: visibility, at: now)
        return try await update(at: now, first: lease.expire, lease.step)
    }

    /// The steps of a lease: the participant's expired leases go back to the queue first (they
    /// may be leasable again, and while leased they hold their FIFO group), then the lease.
    private func leaseSteps(
        participant: String, max: Int, visibility: TimeInterval, at now: Date
    ) -> (expire: QueueStep<Int>, step: QueueStep<[LeasedMessage]>) {
        let configuration = configuration
        let stored: @Sendable (Date) -> Date = { [self] in self.stored($0) }
        return (
            QueueStep(.expiredLeases(participant: participant)) { QueueDecision.expire($0, now: now, configuration: configuration) },
            QueueStep(.leasable(participant: participant, max: max)) {
                try QueueDecision.lease($0, now: now, visibility: visibility, stored: stored)
            })
    }

    /// The step of a batch of acks: the holders of its lease tokens (each token once), decided by
    /// `QueueDecision.ack`.
    private func ackStep(participant: String, _ acknowledgements: [Acknowledgement], at now: Date) -> QueueStep<[QueueError?]> {
        var tokens: [LeaseToken] = []
        var seen = Set<LeaseToken>()
        for ack in acknowledgements where seen.insert(ack.leaseToken).inserted { tokens.append(ack.leaseToken) }
        return QueueStep(.leaseHolders(participant: participant, tokens: tokens)) { QueueDecision.ack($0, acknowledgements, now: now) }
    }

    /// Checks what the acks forward, before anything is stored.
    private static func check(_ acknowledgements: [Acknowledgement]) throws {
        for forward in acknowledgements.compactMap(\.forward) {
            try QueueValidation.check(submitter: forward.submitter, items: [forward.item])
        }
    }

    public func nack(participant: String, leaseToken: LeaseToken, error: String) async throws {
        let now = now
        let configuration = configuration
        try await update(at: now, first: nil, QueueStep(.leaseHolders(participant: participant, tokens: [leaseToken])) {
            try QueueDecision.nack($0, token: leaseToken, error: error, now: now, configuration: configuration)
        })
    }

    public func deadLetter(participant: String, leaseToken: LeaseToken, reason: String) async throws {
        let now = now
        try await update(at: now, first: nil, QueueStep(.leaseHolders(participant: participant, tokens: [leaseToken])) {
            try QueueDecision.deadLetter($0, token: leaseToken, reason: reason, now: now)
        })
    }

    @discardableResult
    public func reclaimExpired() async throws -> Int {
        let now = now
        let configuration = configuration
        return try await update(at: now, first: nil, QueueStep(.expiredLeases(participant: nil)) {
            QueueDecision.expire($0, now: now, configuration: configuration)
        })
    }

    public func replay(messageId: MessageID) async throws {
        let now = now
        try await update(at: now, first: nil, QueueStep(.message(messageId)) {
            try QueueDecision.replay($0, id: messageId, now: now)
        })
    }

    public func replay(messageIds: [MessageID]) async throws -> [QueueError?] {
        guard !messageIds.isEmpty else { return [] }
        let now = now
        return try await update(at: now, first: nil, QueueStep(.messages(messageIds)) {
            QueueDecision.replay($0, ids: messageIds, now: now)
        })
    }

    public func discard(messageId: MessageID) async throws {
        let now = now
        try await update(at: now, first: nil, QueueStep(.message(messageId)) {
            try QueueDecision.discard($0, id: messageId, now: now)
        })
    }

    public func settleRemote(
        envelopeId: String, destination: String, outcome: AckOutcome, receipt: [UInt8]?
    ) async throws -> RemoteSettlement {
        let now = now
        return try await update(at: now, first: nil, QueueStep(.envelope(envelopeId)) {
            QueueDecision.settleRemote($0, destination: destination, outcome: outcome, receipt: receipt, now: now)
        })
    }

    /// Reads only: expired leases are counted where reclaiming them will put them.
    public func depths() async throws -> [String: QueueDepth] {
        let now = now
        return QueueDecision.depths(try await counts(at: now), now: now, configuration: configuration)
    }
}
