import Foundation
import GatewayQueue
import Synchronization

/// Makes a fresh, empty queue of the driver under test with the given configuration.
public typealias QueueFactory = @Sendable (QueueConfiguration) async throws -> any MessageQueue

/// A broken rule of the contract.
public struct QueueContractFailure: Error, CustomStringConvertible {
    public let description: String
}

/// The queue contract, written once and run unchanged against every driver:
///
/// ```swift
/// @Test(arguments: QueueContract.allCases)
/// func contract(_ rule: QueueContract) async throws {
///     try await rule.run { configuration in InMemoryMessageQueue(configuration: configuration) }
/// }
/// ```
///
/// Each case builds its own queue (with a `ManualQueueClock`, so time is moved, never slept) and
/// throws `QueueContractFailure` naming the first broken expectation.
public enum QueueContract: String, CaseIterable, Sendable, CustomStringConvertible {
    case enqueueThenLease
    case enqueueIsAtomic
    case enqueueIsIdempotent
    case leaseHidesUntilVisibilityExpires
    case onlyCurrentLeaseHolderAcks
    case currentLeaseFoundByToken
    case ackBatchSettlesEachItem
    case nackBacksOffExponentially
    case deadAfterMaxDeliveriesAndReplay
    case fifoGroupsByRecordId
    case deadMessageDoesNotBlockGroup
    case historyRecordsEveryChange
    case receiptsStoredWithMessage
    case depthsPerParticipant
    case retentionPurgesOnlyOldAcked
    case retentionArchivesBeforeDeleting
    case concurrentLesseesNeverShareALease
    case invalidArgumentsRefused
    // Federation (issue 13): outboxes, remote settlement, forwarding acks.
    case outboxDeadLetterHoldsItsGroup
    case deadLetterIsImmediate
    case discardSettlesADeadMessage
    case replayBatchSettlesEachItem
    case settleRemoteSettlesAPlaceholder
    case storedEnvelopeReadsBack
    case ackForwardsInItsTransaction
    case receiptsLeaveOutboxesOut
    case oldestQueuedPerDestination
    // Issue 16 item 6: a read-only look at an inbox.
    case inboxReadsHeadersWithoutLeasing
    // Issue 15: the console's message browser searches the whole queue.
    case searchFindsAcrossTheWholeQueue
    // Issue 13 figures: a forwarder's ack of one batch and lease of the next in one transaction.
    case ackAndLeaseIsAckThenLease

    public var description: String { rawValue }

    public func run(_ factory: QueueFactory) async throws {
        let clock = ManualQueueClock()
        var retry = RetryPolicy(baseDelay: 10, maxDelay: 60, jitter: 0.5, maxDeliveries: 10)
        if self == .deadAfterMaxDeliveriesAndReplay { retry.maxDeliveries = 3 }
        if [.deadMessageDoesNotBlockGroup, .outboxDeadLetterHoldsItsGroup, .discardSettlesADeadMessage, .replayBatchSettlesEachItem].contains(self) {
            retry.maxDeliveries = 1
        }
        let queue = try await factory(QueueConfiguration(retry: retry, clock: clock))
        let context = Context(queue: queue, clock: clock)
        switch self {
        case .enqueueThenLease: try await context.enqueueThenLease()
        case .enqueueIsAtomic: try await context.enqueueIsAtomic()
        case .enqueueIsIdempotent: try await context.enqueueIsIdempotent()
        case .leaseHidesUntilVisibilityExpires: try await context.leaseHidesUntilVisibilityExpires()
        case .onlyCurrentLeaseHolderAcks: try await context.onlyCurrentLeaseHolderAcks()
        case .currentLeaseFoundByToken: try await context.currentLeaseFoundByToken()
        case .ackBatchSettlesEachItem: try await context.ackBatchSettlesEachItem()
        case .nackBacksOffExponentially: try await context.nackBacksOffExponentially()
        case .deadAfterMaxDeliveriesAndReplay: try await context.deadAfterMaxDeliveriesAndReplay()
        case .fifoGroupsByRecordId: try await context.fifoGroupsByRecordId()
        case .deadMessageDoesNotBlockGroup: try await context.deadMessageDoesNotBlockGroup()
        case .historyRecordsEveryChange: try await context.historyRecordsEveryChange()
        case .receiptsStoredWithMessage: try await context.receiptsStoredWithMessage()
        case .depthsPerParticipant: try await context.depthsPerParticipant()
        case .retentionPurgesOnlyOldAcked: try await context.retentionPurgesOnlyOldAcked()
        case .retentionArchivesBeforeDeleting: try await context.retentionArchivesBeforeDeleting()
        case .concurrentLesseesNeverShareALease: try await context.concurrentLesseesNeverShareALease()
        case .invalidArgumentsRefused: try await context.invalidArgumentsRefused()
        case .outboxDeadLetterHoldsItsGroup: try await context.outboxDeadLetterHoldsItsGroup()
        case .deadLetterIsImmediate: try await context.deadLetterIsImmediate()
        case .discardSettlesADeadMessage: try await context.discardSettlesADeadMessage()
        case .replayBatchSettlesEachItem: try await context.replayBatchSettlesEachItem()
        case .settleRemoteSettlesAPlaceholder: try await context.settleRemoteSettlesAPlaceholder()
        case .storedEnvelopeReadsBack: try await context.storedEnvelopeReadsBack()
        case .ackForwardsInItsTransaction: try await context.ackForwardsInItsTransaction()
        case .receiptsLeaveOutboxesOut: try await context.receiptsLeaveOutboxesOut()
        case .oldestQueuedPerDestination: try await context.oldestQueuedPerDestination()
        case .inboxReadsHeadersWithoutLeasing: try await context.inboxReadsHeadersWithoutLeasing()
        case .searchFindsAcrossTheWholeQueue: try await context.searchFindsAcrossTheWholeQueue()
        case .ackAndLeaseIsAckThenLease: try await context.ackAndLeaseIsAckThenLease()
        }
    }
}

/// A test item: a unique envelope id, and a payload that names the record (no personal data).
public func contractItem(
    recordId: String, updatedAt: String = "2026-01-01T00:00:00Z", digest: String? = nil, to destinations: [String],
    envelopeId: String = UUID().uuidString.lowercased()
) -> EnqueueItem {
    EnqueueItem(
        envelopeId: envelopeId, kind: "traffic-violation", recordId: recordId, updatedAt: updatedAt,
        payloadDigest: digest ?? "d-\(recordId)-\(updatedAt)", destinations: destinations,
        envelope: Array("{\"envelope\":\"\(envelopeId)\",\"record\":\"\(recordId)\"}".utf8))
}

struct Context {
    let queue: any MessageQueue
    let clock: ManualQueueClock

    func check(_ condition: Bool, _ message: @autoclosure () -> String, file: String = #fileID, line: Int = #line) throws {
        if !condition { throw QueueContractFailure(description: "\(file):\(line): \(message())") }
    }

    func checkThrows(
        _ code: QueueError.Code, file: String = #fileID, line: Int = #line, _ body: () async throws -> Void
    ) async throws {
        do {
            try await body()
        } catch let error as QueueError {
            try check(error.code == code, "expected \(code), got \(error)", file: file, line: line)
            return
        }
        throw QueueContractFailure(description: "\(file):\(line): expected \(code), nothing thrown")
    }

    func lease(_ participant: String, max: Int = 100, visibility: TimeInterval = 30) async throws -> [LeasedMessage] {
        try await queue.lease(participant: participant, max: max, visibility: visibility)
    }

    // MARK: rules

    func enqueueThenLease() async throws {
        let items = (1...3).map { contractItem(recordId: "r\($0)", to: ["b"]) } + [contractItem(recordId: "r4", to: ["b", "c"])]
        let result = try await queue.enqueue(submitter: "a", items: items)
        try check(result.map(\.envelopeId) == items.map(\.envelopeId), "enqueue returns the items' envelope ids in order")
        try check(result.allSatisfy { !$0.duplicate }, "fresh items are not duplicates")
        try check(result[3].destinations == ["b", "c"], "destinations returned")
        let leased = try await lease("b", max: 10)
        try check(leased.map(\.envelopeId) == items.map(\.envelopeId), "lease returns b's messages in enqueue order: \(leased.map(\.recordId))")
        try check(leased.map(\.envelope) == items.map(\.envelope), "envelope bytes round-trip")
        try check(leased.allSatisfy { $0.destination == "b" && $0.submitter == "a" && $0.deliveryCount == 0 }, "metadata")
        try check(leased[0].kind == "traffic-violation" && leased[0].updatedAt == items[0].updatedAt
            && leased[0].payloadDigest == items[0].payloadDigest, "metadata fields")
        try check(Set(leased.map(\.leaseToken)).count == 4, "one token per message")
        try check(leased.allSatisfy { $0.leaseExpiresAt == clock.now() + 30 }, "expiry is now + visibility")
        try check(try await lease("b").isEmpty, "leased messages are invisible")
        let c = try await lease("c")
        try check(c.map(\.envelopeId) == [items[3].envelopeId], "c gets only its message")
        try check(try await lease("nobody").isEmpty, "unknown participant has nothing")
        let limited = try await queue.enqueue(submitter: "a", items: (5...9).map { contractItem(recordId: "r\($0)", to: ["d"]) })
        try check(try await lease("d", max: 2).map(\.envelopeId) == limited.prefix(2).map(\.envelopeId), "max is respected")
    }

    func enqueueIsAtomic() async throws {
        let first = contractItem(recordId: "r1", to: ["b"])
        _ = try await queue.enqueue(submitter: "a", items: [first])
        let fresh = contractItem(recordId: "r2", to: ["b"])
        let clash = contractItem(recordId: "r3", to: ["b"], envelopeId: first.envelopeId)
        try await checkThrows(.conflict) { _ = try await queue.enqueue(submitter: "a", items: [fresh, clash]) }
        try check(try await lease("b").map(\.envelopeId) == [first.envelopeId], "a failed document stores nothing")
        try check(try await queue.history(envelopeId: fresh.envelopeId).isEmpty, "no history for a rolled-back item")
        let again = try await queue.enqueue(submitter: "a", items: [fresh])
        try check(again == [EnqueuedItem(envelopeId: fresh.envelopeId, destinations: ["b"], duplicate: false)],
            "the rolled-back item was not stored, so it is new now")
        try await checkThrows(.conflict) { _ = try await queue.enqueue(submitter: "a", items: [contractItem(recordId: "r4", to: ["b"], envelopeId: fresh.envelopeId), contractItem(recordId: "r5", to: ["b"], envelopeId: fresh.envelopeId)]) }
    }

    func enqueueIsIdempotent() async throws {
        let original = contractItem(recordId: "r1", digest: "aa", to: ["b", "c"])
        _ = try await queue.enqueue(submitter: "a", items: [original])
        let resubmitted = contractItem(recordId: "r1", digest: "aa", to: ["d"])
        let result = try await queue.enqueue(submitter: "a", items: [resubmitted])
        try check(result == [EnqueuedItem(envelopeId: original.envelopeId, destinations: ["b", "c"], duplicate: true)],
            "a duplicate returns the first envelope id and destinations: \(result)")
        try check(try await lease("d").isEmpty, "nothing stored for the duplicate")
        try check(try await lease("b").count == 1, "stored once")
        // Same record, new payload: a new message. Same key from another submitter: a new message.
        let changed = contractItem(recordId: "r1", digest: "bb", to: ["b"])
        let other = contractItem(recordId: "r1", digest: "aa", to: ["e"])
        try check(try await queue.enqueue(submitter: "a", items: [changed]).first?.duplicate == false, "new digest is new")
        try check(try await queue.enqueue(submitter: "z", items: [other]).first?.duplicate == false, "other submitter is new")
        // Duplicates inside one document.
        let x = contractItem(recordId: "r9", digest: "cc", to: ["f"])
        let y = contractItem(recordId: "r9", digest: "cc", to: ["f"])
        let inCall = try await queue.enqueue(submitter: "a", items: [x, y])
        try check(inCall == [
            EnqueuedItem(envelopeId: x.envelopeId, destinations: ["f"], duplicate: false),
            EnqueuedItem(envelopeId: x.envelopeId, destinations: ["f"], duplicate: true),
        ], "the second of two equal items in one call is a duplicate of the first: \(inCall)")
        try check(try await lease("f").count == 1, "stored once")
        // Still a duplicate after delivery.
        let fLeased = try await lease("b")
        for message in fLeased { try await queue.ack(participant: "b", leaseToken: message.leaseToken) }
        try check(try await queue.enqueue(submitter: "a", items: [resubmitted]).first?.duplicate == true, "still a duplicate once acked")
    }

    func leaseHidesUntilVisibilityExpires() async throws {
        let item = contractItem(recordId: "r1", to: ["b"])
        _ = try await queue.enqueue(submitter: "a", items: [item])
        let first = try await lease("b", visibility: 30)
        try check(first.count == 1, "leased")
        clock.advance(by: 29.9)
        try check(try await lease("b").isEmpty, "invisible before the visibility timeout")
        clock.advance(by: 0.2)
        try check(try await lease("b").isEmpty, "an expired lease backs off like a nack (10 s × [0.5, 1))")
        clock.advance(by: 10)
        let second = try await lease("b", visibility: 30)
        try check(second.map(\.envelopeId) == [item.envelopeId], "visible again after expiry and back-off")
        try check(second[0].deliveryCount == 1, "expiry counts as a failed delivery")
        try check(second[0].leaseToken != first[0].leaseToken, "a new token")
        try await checkThrows(.staleLease) { try await queue.ack(participant: "b", leaseToken: first[0].leaseToken) }
        try await checkThrows(.staleLease) { try await queue.nack(participant: "b", leaseToken: first[0].leaseToken, error: "x") }
        let events = try await queue.history(envelopeId: item.envelopeId).map(\.event)
        try check(events == [.queued, .leased, .expired, .leased], "history: \(events)")
    }

    func onlyCurrentLeaseHolderAcks() async throws {
        _ = try await queue.enqueue(submitter: "a", items: [contractItem(recordId: "r1", to: ["b"]), contractItem(recordId: "r2", to: ["b"])])
        let leased = try await lease("b", visibility: 30)
        try check(leased.count == 2, "two leased")
        try await checkThrows(.staleLease) { try await queue.ack(participant: "c", leaseToken: leased[0].leaseToken) }
        try await checkThrows(.staleLease) { try await queue.ack(participant: "b", leaseToken: LeaseToken.random()) }
        try await queue.ack(participant: "b", leaseToken: leased[0].leaseToken)
        try await checkThrows(.staleLease) { try await queue.ack(participant: "b", leaseToken: leased[0].leaseToken) }
        clock.advance(by: 31)
        try await checkThrows(.leaseExpired) { try await queue.ack(participant: "b", leaseToken: leased[1].leaseToken) }
        clock.advance(by: 60)
        let again = try await lease("b")
        try check(again.map(\.envelopeId) == [leased[1].envelopeId], "the acked message never comes back; the expired one does")
        clock.advance(by: 3600)
        try check(try await lease("b").count == 1, "only the unacked one again")
    }

    /// `leased(participant:leaseToken:)` finds a lease while it is current, for its holder only:
    /// what lets any gateway node settle a lease another node granted.
    func currentLeaseFoundByToken() async throws {
        let item = contractItem(recordId: "r1", to: ["b", "c"])
        _ = try await queue.enqueue(submitter: "a", items: [item, contractItem(recordId: "r2", to: ["b"])])
        let leased = try await lease("b", visibility: 30)
        try check(leased.count == 2, "two leased")
        guard let first = try await queue.leased(participant: "b", leaseToken: leased[0].leaseToken) else {
            return try check(false, "the current lease is found")
        }
        try check(first == leased[0], "the same message as lease returned: \(first) vs \(leased[0])")
        try check(first.envelope == item.envelope && first.submitter == "a" && first.destination == "b", "envelope and parties")
        try check(try await queue.leased(participant: "c", leaseToken: leased[0].leaseToken) == nil, "not for another participant")
        try check(try await queue.leased(participant: "b", leaseToken: LeaseToken.random()) == nil, "not for an unknown token")
        try await queue.ack(participant: "b", leaseToken: leased[0].leaseToken)
        try check(try await queue.leased(participant: "b", leaseToken: leased[0].leaseToken) == nil, "not once acked")
        try await queue.nack(participant: "b", leaseToken: leased[1].leaseToken, error: "HTTP 503")
        try check(try await queue.leased(participant: "b", leaseToken: leased[1].leaseToken) == nil, "not once nacked")
        let other = try await lease("c", visibility: 30)
        try check(other.count == 1, "c's copy leased")
        clock.advance(by: 29)
        try check(try await queue.leased(participant: "c", leaseToken: other[0].leaseToken) != nil, "still current at 29 s")
        clock.advance(by: 2)
        try check(try await queue.leased(participant: "c", leaseToken: other[0].leaseToken) == nil, "not once expired")
    }

    func ackBatchSettlesEachItem() async throws {
        _ = try await queue.enqueue(submitter: "a", items: (1...3).map { contractItem(recordId: "r\($0)", to: ["b"]) })
        let leased = try await lease("b")
        let results = try await queue.ack(participant: "b", [
            Acknowledgement(leaseToken: leased[0].leaseToken),
            Acknowledgement(leaseToken: LeaseToken.random()),
            Acknowledgement(leaseToken: leased[2].leaseToken, outcome: .rejected(reason: "schema")),
        ])
        try check(results.map { $0?.code } == [nil, .staleLease, nil], "per-item results: \(results)")
        clock.advance(by: 100)
        try check(try await lease("b").map(\.envelopeId) == [leased[1].envelopeId], "only the unacked one returns")
    }

    func nackBacksOffExponentially() async throws {
        let item = contractItem(recordId: "r1", to: ["b"])
        _ = try await queue.enqueue(submitter: "a", items: [item])
        var leased = try await lease("b")
        try await queue.nack(participant: "b", leaseToken: leased[0].leaseToken, error: "HTTP 503")
        try await checkThrows(.staleLease) { try await queue.nack(participant: "b", leaseToken: leased[0].leaseToken, error: "again") }
        // First failure: 10 s × [0.5, 1).
        try check(try await lease("b").isEmpty, "backing off")
        clock.advance(by: 4.9)
        try check(try await lease("b").isEmpty, "backing off at 4.9 s")
        clock.advance(by: 5.2)
        leased = try await lease("b")
        try check(leased.count == 1 && leased[0].deliveryCount == 1, "back after 10.1 s with one failed delivery")
        try await queue.nack(participant: "b", leaseToken: leased[0].leaseToken, error: "HTTP 503")
        // Second failure: 20 s × [0.5, 1).
        clock.advance(by: 9.9)
        try check(try await lease("b").isEmpty, "second back-off is at least 10 s")
        clock.advance(by: 10.2)
        leased = try await lease("b")
        try check(leased.count == 1 && leased[0].deliveryCount == 2, "back after 20.1 s with two failures")
        // Cap: failures 3…9 wait at most 60 s.
        for failures in 3...9 {
            try await queue.nack(participant: "b", leaseToken: leased[0].leaseToken, error: "HTTP 503")
            clock.advance(by: 60.01)
            leased = try await lease("b")
            try check(leased.count == 1 && leased[0].deliveryCount == failures, "capped back-off, failure \(failures)")
        }
    }

    func deadAfterMaxDeliveriesAndReplay() async throws {
        let item = contractItem(recordId: "r1", to: ["b"])
        _ = try await queue.enqueue(submitter: "a", items: [item])
        for attempt in 1...3 {
            let leased = try await lease("b")
            try check(leased.count == 1, "delivery \(attempt)")
            try await queue.nack(participant: "b", leaseToken: leased[0].leaseToken, error: "bad signature \(attempt)")
            clock.advance(by: 61)
        }
        try check(try await lease("b").isEmpty, "dead messages are not leased")
        let dead = try await queue.deadLetters(participant: "b")
        try check(dead.count == 1 && dead[0].envelopeId == item.envelopeId && dead[0].deliveryCount == 3
            && dead[0].lastError == "bad signature 3" && dead[0].submitter == "a" && dead[0].recordId == "r1",
            "dead letter with the last error: \(dead)")
        try check(try await queue.deadLetters(participant: "c").isEmpty, "per participant")
        try check(try await queue.depths()["b"] == QueueDepth(queued: 0, leased: 0, dead: 1), "depth counts the dead")
        try await queue.replay(messageId: dead[0].messageId)
        try await checkThrows(.invalidState) { try await queue.replay(messageId: dead[0].messageId) }
        try await checkThrows(.notFound) { try await queue.replay(messageId: MessageID(999_999)) }
        let again = try await lease("b")
        try check(again.count == 1 && again[0].deliveryCount == 0, "replayed with the count reset")
        try check(try await queue.deadLetters(participant: "b").isEmpty, "no longer dead")
        let events = try await queue.history(envelopeId: item.envelopeId).map(\.event)
        try check(events == [.queued, .leased, .nacked, .leased, .nacked, .leased, .nacked, .dead, .replayed, .leased],
            "history: \(events)")
        // Expiry counts too: three expiries kill it again.
        for _ in 1...2 {
            clock.advance(by: 100)
            try check(try await lease("b").count == 1, "re-leased after expiry")
        }
        clock.advance(by: 100)
        _ = try await queue.reclaimExpired()
        let deadAgain = try await queue.deadLetters(participant: "b")
        try check(deadAgain.count == 1 && deadAgain[0].lastError == "lease expired", "dead after expiries: \(deadAgain)")
    }

    func fifoGroupsByRecordId() async throws {
        let later = contractItem(recordId: "r1", updatedAt: "2026-01-01T10:00:00Z", to: ["b"])
        let earlier = contractItem(recordId: "r1", updatedAt: "2026-01-01T09:00:00Z", to: ["b"])
        let other = contractItem(recordId: "r2", updatedAt: "2026-01-01T11:00:00Z", to: ["b"])
        let tieA = contractItem(recordId: "r3", updatedAt: "2026-01-01T08:00:00Z", digest: "t1", to: ["b"])
        let tieB = contractItem(recordId: "r3", updatedAt: "2026-01-01T08:00:00Z", digest: "t2", to: ["b"])
        _ = try await queue.enqueue(submitter: "a", items: [later])
        _ = try await queue.enqueue(submitter: "a", items: [earlier, other, tieA, tieB])
        let first = try await lease("b")
        try check(first.map(\.envelopeId) == [earlier.envelopeId, other.envelopeId, tieA.envelopeId],
            "one head per recordId, earliest updatedAt first, ties by enqueue order: \(first.map(\.updatedAt))")
        try check(try await lease("b").isEmpty, "the rest of each group waits while its head is in flight")
        try await queue.ack(participant: "b", leaseToken: first[0].leaseToken)
        let second = try await lease("b")
        try check(second.map(\.envelopeId) == [later.envelopeId], "the next of r1 after its head is acked")
        try await queue.ack(participant: "b", leaseToken: second[0].leaseToken)
        try await queue.ack(participant: "b", leaseToken: first[1].leaseToken)
        // A head waiting for a retry still blocks its group.
        try await queue.nack(participant: "b", leaseToken: first[2].leaseToken, error: "busy")
        try check(try await lease("b").isEmpty, "r3's second waits while the first backs off")
        clock.advance(by: 61)
        let third = try await lease("b")
        try check(third.map(\.envelopeId) == [tieA.envelopeId], "the retried head comes first, not its successor")
        try await queue.ack(participant: "b", leaseToken: third[0].leaseToken)
        try check(try await lease("b").map(\.envelopeId) == [tieB.envelopeId], "then its successor")
        // Groups are per destination: another destination of the same recordId is independent.
        let multi1 = contractItem(recordId: "r7", updatedAt: "2026-01-01T01:00:00Z", to: ["c", "d"])
        let multi2 = contractItem(recordId: "r7", updatedAt: "2026-01-01T02:00:00Z", to: ["c", "d"])
        _ = try await queue.enqueue(submitter: "a", items: [multi1, multi2])
        let c = try await lease("c")
        try check(c.map(\.envelopeId) == [multi1.envelopeId], "c: head only")
        try await queue.ack(participant: "c", leaseToken: c[0].leaseToken)
        try check(try await lease("c").map(\.envelopeId) == [multi2.envelopeId], "c: next")
        try check(try await lease("d").map(\.envelopeId) == [multi1.envelopeId], "d is not blocked by c")
        // An earlier updatedAt arriving while a later one is in flight waits for it, then goes.
        let newer = contractItem(recordId: "r8", updatedAt: "2026-01-01T05:00:00Z", to: ["g"])
        let older = contractItem(recordId: "r8", updatedAt: "2026-01-01T04:00:00Z", to: ["g"])
        _ = try await queue.enqueue(submitter: "a", items: [newer])
        let g = try await lease("g")
        _ = try await queue.enqueue(submitter: "a", items: [older])
        try check(try await lease("g").isEmpty, "never two of a group in flight")
        try await queue.ack(participant: "g", leaseToken: g[0].leaseToken)
        try check(try await lease("g").map(\.envelopeId) == [older.envelopeId], "the late earlier one after the in-flight one")
    }

    func deadMessageDoesNotBlockGroup() async throws {
        let first = contractItem(recordId: "r1", updatedAt: "2026-01-01T01:00:00Z", to: ["b"])
        let second = contractItem(recordId: "r1", updatedAt: "2026-01-01T02:00:00Z", to: ["b"])
        _ = try await queue.enqueue(submitter: "a", items: [first, second])
        let leased = try await lease("b")
        try check(leased.map(\.envelopeId) == [first.envelopeId], "head first")
        try await queue.nack(participant: "b", leaseToken: leased[0].leaseToken, error: "unrecoverable")
        try check(try await queue.deadLetters(participant: "b").count == 1, "dead after maxDeliveries = 1")
        let next = try await lease("b")
        try check(next.map(\.envelopeId) == [second.envelopeId], "a dead message does not block its group")
        // Replayed while its successor is in flight: it waits for the successor to settle.
        let dead = try await queue.deadLetters(participant: "b")
        try await queue.replay(messageId: dead[0].messageId)
        try check(try await lease("b").isEmpty, "the replayed message waits while the group's in-flight one is out")
        try await queue.ack(participant: "b", leaseToken: next[0].leaseToken)
        try check(try await lease("b").map(\.envelopeId) == [first.envelopeId], "then the replayed one")
    }

    func historyRecordsEveryChange() async throws {
        let item = contractItem(recordId: "r1", to: ["b", "c"])
        _ = try await queue.enqueue(submitter: "a", items: [item])
        let start = clock.now()
        clock.advance(by: 1)
        var leased = try await lease("b")
        try await queue.nack(participant: "b", leaseToken: leased[0].leaseToken, error: "timeout")
        clock.advance(by: 61)
        leased = try await lease("b")
        try await queue.ack(participant: "b", leaseToken: leased[0].leaseToken, outcome: .rejected(reason: "duplicate"))
        let history = try await queue.history(envelopeId: item.envelopeId)
        let b = history.filter { $0.destination == "b" }
        let c = history.filter { $0.destination == "c" }
        try check(b.map(\.event) == [.queued, .leased, .nacked, .leased, .acked], "b: \(b.map(\.event))")
        try check(c.map(\.event) == [.queued], "c: \(c.map(\.event))")
        try check(b.map(\.deliveryCount) == [0, 0, 1, 1, 1], "counts: \(b.map(\.deliveryCount))")
        try check(b[0].at == start && b[1].at == start + 1 && b[3].at == start + 62, "times: \(b.map(\.at))")
        try check(b[2].detail == "timeout", "nack error kept")
        try check(Set(b.map(\.messageId)).count == 1 && b[0].messageId != c[0].messageId, "one message per destination")
        try check(try await queue.history(envelopeId: "unknown").isEmpty, "unknown envelope: empty")
    }

    func receiptsStoredWithMessage() async throws {
        let one = contractItem(recordId: "r1", to: ["b", "c"])
        let two = contractItem(recordId: "r2", to: ["b"])
        _ = try await queue.enqueue(submitter: "a", items: [one, two])
        _ = try await queue.enqueue(submitter: "z", items: [contractItem(recordId: "r3", to: ["b"])])
        let start = clock.now()
        let b = try await lease("b")
        let receiptBytes = Array("{\"receipt\":{\"outcome\":\"accepted\"}}".utf8)
        clock.advance(by: 1)
        _ = try await queue.ack(participant: "b", [
            Acknowledgement(leaseToken: b[0].leaseToken, outcome: .accepted, receipt: receiptBytes),
            Acknowledgement(leaseToken: b[1].leaseToken, outcome: .rejected(reason: "schema-invalid"), receipt: nil),
        ])
        clock.advance(by: 1)
        let c = try await lease("c")
        try await queue.ack(participant: "c", leaseToken: c[0].leaseToken, outcome: .accepted, receipt: [1, 2, 3])
        let all = try await queue.receipts(submitter: "a", since: .distantPast)
        try check(all.count == 3, "three receipts for a: \(all.count)")
        try check(all[0].envelopeId == one.envelopeId && all[0].destination == "b" && all[0].receipt == receiptBytes
            && all[0].outcome == .accepted && all[0].ackedAt == start + 1, "accepted receipt with bytes")
        try check(all[1].envelopeId == two.envelopeId && all[1].outcome == .rejected(reason: "schema-invalid")
            && all[1].receipt == nil && all[1].recordId == "r2", "rejected receipt with reason")
        try check(all[2].destination == "c" && all[2].receipt == [1, 2, 3], "oldest first")
        let since = try await queue.receipts(submitter: "a", since: start + 1)
        try check(since.map(\.destination) == ["c"], "since is exclusive")
        try check(try await queue.receipts(submitter: "a", since: .distantPast, limit: 2).count == 2, "limit")
        try check(try await queue.receipts(submitter: "z").isEmpty, "z's message is not acked")
        let perEnvelope = try await queue.receipts(envelopeId: one.envelopeId)
        try check(perEnvelope.map(\.destination).sorted() == ["b", "c"], "per envelope, one per destination")
    }

    func depthsPerParticipant() async throws {
        _ = try await queue.enqueue(submitter: "a", items: (1...5).map { contractItem(recordId: "r\($0)", to: ["b"]) }
            + [contractItem(recordId: "r9", to: ["b", "c"])])
        let leased = try await lease("b", max: 3)
        try await queue.ack(participant: "b", leaseToken: leased[0].leaseToken)
        var depths = try await queue.depths()
        try check(depths["b"] == QueueDepth(queued: 3, leased: 2, dead: 0, acked: 1), "b: \(String(describing: depths["b"]))")
        try check(depths["c"] == QueueDepth(queued: 1), "c: \(String(describing: depths["c"]))")
        clock.advance(by: 31)
        depths = try await queue.depths()
        try check(depths["b"] == QueueDepth(queued: 5, leased: 0, dead: 0, acked: 1), "expired leases count as queued: \(String(describing: depths["b"]))")
        try await queue.ping()
    }

    /// The archive callback receives each batch (envelope, receipt, history) before anything is
    /// deleted; a callback that throws deletes nothing.
    func retentionArchivesBeforeDeleting() async throws {
        struct Refused: Error {}
        let first = contractItem(recordId: "r1", to: ["b"])
        let second = contractItem(recordId: "r2", to: ["b"])
        _ = try await queue.enqueue(submitter: "a", items: [first, second])
        for message in try await lease("b") {
            try await queue.ack(participant: "b", leaseToken: message.leaseToken, receipt: Array("receipt of \(message.envelopeId)".utf8))
            clock.advance(by: 1)
        }
        clock.advance(by: 31 * 86_400)
        let cutoff = clock.now() - 30 * 86_400
        do {
            _ = try await queue.purgeAcked(before: cutoff, limit: 1) { _ in throw Refused() }
            try check(false, "a refused archive is the purge's error")
        } catch is Refused {}
        try check(try await queue.storedEnvelope(id: first.envelopeId) != nil, "nothing deleted when the archive refuses")
        let archived = ArchivedBatches()
        let purged = try await queue.purgeAcked(before: cutoff, limit: 1) { batch in archived.messages.withLock { $0 += batch } }
        try check(purged == 1, "one batch of one: \(String(describing: purged))")
        let batch = archived.messages.withLock { $0 }
        try check(batch.count == 1 && batch[0].envelopeId == first.envelopeId, "the oldest ack first: \(batch.map(\.envelopeId))")
        try check(batch[0].envelope == first.envelope && batch[0].submitter == "a" && batch[0].destination == "b", "with its envelope")
        try check(batch[0].receipt == Array("receipt of \(first.envelopeId)".utf8) && batch[0].outcome == .accepted, "and receipt")
        try check(batch[0].history.map(\.event) == [.queued, .leased, .acked], "and history: \(batch[0].history.map(\.event))")
        try check(try await queue.storedEnvelope(id: first.envelopeId) == nil, "archived, then deleted")
        try check(try await queue.storedEnvelope(id: second.envelopeId) != nil, "the next batch is still there")
        let rest = try await queue.purgeAll(before: cutoff, limit: 1) { batch in archived.messages.withLock { $0 += batch } }
        try check(rest == 1 && archived.messages.withLock { $0.map(\.envelopeId) } == [first.envelopeId, second.envelopeId], "purgeAll: \(rest)")
    }

    func retentionPurgesOnlyOldAcked() async throws {
        let acked = contractItem(recordId: "r1", to: ["b"])
        let queued = contractItem(recordId: "r2", to: ["c"])
        let dying = contractItem(recordId: "r3", to: ["d"])
        let halfAcked = contractItem(recordId: "r4", to: ["b", "e"])
        _ = try await queue.enqueue(submitter: "a", items: [acked, queued, dying, halfAcked])
        for message in try await lease("b") { try await queue.ack(participant: "b", leaseToken: message.leaseToken) }
        for _ in 1...10 {
            let d = try await lease("d")
            try check(d.count == 1, "d leased")
            try await queue.nack(participant: "d", leaseToken: d[0].leaseToken, error: "down")
            clock.advance(by: 61)
        }
        try check(try await queue.deadLetters(participant: "d").count == 1, "dead after 10 failures (the default)")
        let recent = try await queue.enqueue(submitter: "a", items: [contractItem(recordId: "r5", to: ["b"])])
        for message in try await lease("b") { try await queue.ack(participant: "b", leaseToken: message.leaseToken) }
        clock.advance(by: 30 * 86_400 - 400)
        let purged = try await queue.purgeAcked(before: clock.now() - 30 * 86_400)
        try check(purged == 2, "two messages acked more than 30 days ago: \(purged)")
        try check(try await queue.history(envelopeId: acked.envelopeId).isEmpty, "purged with their history")
        try check(try await queue.receipts(envelopeId: acked.envelopeId).isEmpty, "and receipts")
        try check(try await lease("c").map(\.envelopeId) == [queued.envelopeId], "queued messages are kept")
        try check(try await queue.deadLetters(participant: "d").count == 1, "dead messages are kept")
        try check(try await lease("e").map(\.envelopeId) == [halfAcked.envelopeId], "the unacked destination of a half-acked envelope is kept")
        try check(try await queue.history(envelopeId: halfAcked.envelopeId).contains { $0.destination == "e" }, "with its history")
        try check(try await queue.receipts(envelopeId: recent[0].envelopeId).count == 1, "recently acked ones are kept")
        // The idempotency window is the retention window: a purged envelope's key is free again.
        try check(try await queue.enqueue(submitter: "a", items: [contractItem(recordId: "r1", to: ["b"])]).first?.duplicate == false,
            "a purged key can be enqueued again")
        try check(try await queue.enqueue(submitter: "a", items: [contractItem(recordId: "r4", to: ["b"])]).first?.duplicate == true,
            "a key whose envelope still has a live message is still a duplicate")
    }

    func concurrentLesseesNeverShareALease() async throws {
        let total = 300
        for document in 0..<3 {
            _ = try await queue.enqueue(submitter: "a", items: (0..<100).map {
                contractItem(recordId: "r\(document)-\($0 % 60)", updatedAt: "2026-01-01T00:00:\(String(format: "%02d", $0 / 60))Z", to: ["b"])
            })
        }
        // 8 lessees lease and ack concurrently until the queue is drained (several rounds, since a
        // recordId's second message only becomes visible once its first is acked).
        let queue = self.queue
        let received = try await withThrowingTaskGroup(of: [String].self) { group in
            for _ in 0..<8 {
                group.addTask {
                    var mine: [String] = []
                    var idle = 0
                    while idle < 20 {
                        let leased = try await queue.lease(participant: "b", max: 7, visibility: 600)
                        if leased.isEmpty { idle += 1; await Task.yield(); continue }
                        idle = 0
                        mine += leased.map(\.envelopeId)
                        let results = try await queue.ack(participant: "b", leased.map { Acknowledgement(leaseToken: $0.leaseToken) })
                        if let error = results.compactMap({ $0 }).first { throw error }
                    }
                    return mine
                }
            }
            var all: [String] = []
            for try await ids in group { all += ids }
            return all
        }
        try check(Set(received).count == received.count, "no message was leased twice: \(received.count - Set(received).count) repeats")
        let rest = try await lease("b", max: 1000)
        try check(received.count + rest.count == total, "every message delivered once: \(received.count) + \(rest.count)")
    }

    func invalidArgumentsRefused() async throws {
        try await checkThrows(.invalidArgument) { _ = try await queue.lease(participant: "b", max: 0, visibility: 30) }
        try await checkThrows(.invalidArgument) { _ = try await queue.lease(participant: "b", max: 1, visibility: 0) }
        try await checkThrows(.invalidArgument) { _ = try await queue.enqueue(submitter: "a", items: [contractItem(recordId: "r", to: [])]) }
        try await checkThrows(.invalidArgument) { _ = try await queue.enqueue(submitter: "a", items: [contractItem(recordId: "r", to: ["b", "b"])]) }
        try await checkThrows(.invalidArgument) { _ = try await queue.enqueue(submitter: "", items: [contractItem(recordId: "r", to: ["b"])]) }
        try check(try await queue.enqueue(submitter: "a", items: []).isEmpty, "an empty document is a no-op")
        try check(try await lease("b").isEmpty, "nothing was stored")
    }
}

/// What an archive callback was handed, across calls.
final class ArchivedBatches: Sendable {
    let messages = Mutex<[SettledMessage]>([])
}
