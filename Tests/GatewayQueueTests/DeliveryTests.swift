import Foundation
import GatewayQueue
import Testing

@Suite("Delivery state machine")
struct DeliveryTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    let policy = RetryPolicy(baseDelay: 2, maxDelay: 100, jitter: 0.5, maxDeliveries: 3)

    @Test func leaseAckHappyPath() throws {
        var delivery = Delivery.enqueued(at: t0)
        #expect(delivery.isAvailable(at: t0))
        let token = LeaseToken("t1")
        #expect(try delivery.lease(token: token, now: t0, visibility: 30).map(\.event) == [.leased])
        #expect(delivery.state == .leased && delivery.leaseExpiresAt == t0 + 30 && delivery.leaseToken == token)
        #expect(!delivery.isAvailable(at: t0 + 10))
        #expect(try delivery.ack(token: token, outcome: .rejected(reason: "schema"), now: t0 + 29).map(\.event) == [.acked])
        #expect(delivery.state == .acked && delivery.leaseToken == nil && delivery.outcome == .rejected(reason: "schema"))
        #expect(!delivery.isPending)
    }

    @Test func onlyTheCurrentUnexpiredTokenSettles() throws {
        var delivery = Delivery.enqueued(at: t0)
        _ = try delivery.lease(token: LeaseToken("t1"), now: t0, visibility: 30)
        #expect(throws: QueueError(.staleLease, "the lease is not current (message is leased)")) {
            _ = try delivery.ack(token: LeaseToken("other"), outcome: .accepted, now: t0 + 1)
        }
        #expect(throws: QueueError(.leaseExpired, "the lease expired")) {
            _ = try delivery.ack(token: LeaseToken("t1"), outcome: .accepted, now: t0 + 30)
        }
        #expect(delivery.state == .leased, "a refused transition changes nothing")
        var acked = delivery
        _ = try acked.ack(token: LeaseToken("t1"), outcome: .accepted, now: t0 + 1)
        #expect(throws: QueueError.self) { _ = try acked.nack(token: LeaseToken("t1"), error: "x", now: t0 + 2, policy: policy, random: 0) }
        #expect(throws: QueueError.self) { _ = try acked.lease(token: LeaseToken("t2"), now: t0 + 2, visibility: 30) }
    }

    @Test func nackBacksOffThenDies() throws {
        var delivery = Delivery.enqueued(at: t0)
        var now = t0
        for failure in 1...2 {
            let token = LeaseToken("t\(failure)")
            _ = try delivery.lease(token: token, now: now, visibility: 30)
            let changes = try delivery.nack(token: token, error: "e\(failure)", now: now, policy: policy, random: 0)
            #expect(changes == [Delivery.Change(.nacked, failure, "e\(failure)")])
            #expect(delivery.state == .queued && delivery.deliveryCount == failure)
            // jitter 0.5, random 0 → half of base × 2^(n−1)
            #expect(delivery.availableAt == now + 2 * pow(2, Double(failure - 1)) * 0.5)
            #expect(!delivery.isAvailable(at: delivery.availableAt - 0.001))
            #expect(throws: QueueError.self) { _ = try delivery.lease(token: LeaseToken("early"), now: now, visibility: 30) }
            now = delivery.availableAt
        }
        _ = try delivery.lease(token: LeaseToken("t3"), now: now, visibility: 30)
        let changes = try delivery.nack(token: LeaseToken("t3"), error: "last", now: now, policy: policy, random: 0.3)
        #expect(changes.map(\.event) == [.nacked, .dead])
        #expect(delivery.state == .dead && delivery.lastError == "last" && delivery.deliveryCount == 3)
        #expect(!delivery.isPending && !delivery.isAvailable(at: now + 1_000_000))
        #expect(try delivery.replay(now: now + 5).map(\.event) == [.replayed])
        #expect(delivery.state == .queued && delivery.deliveryCount == 0 && delivery.isAvailable(at: now + 5))
        #expect(throws: QueueError.self) { _ = try delivery.replay(now: now + 6) }
    }

    @Test func expiryOnlyWhenDue() throws {
        var delivery = Delivery.enqueued(at: t0)
        _ = try delivery.lease(token: LeaseToken("t1"), now: t0, visibility: 30)
        #expect(delivery.expireIfDue(now: t0 + 29.999, policy: policy, random: 0).isEmpty)
        #expect(delivery.state == .leased)
        #expect(delivery.expireIfDue(now: t0 + 30, policy: policy, random: 0.999).map(\.event) == [.expired])
        #expect(delivery.state == .queued && delivery.deliveryCount == 1 && delivery.lastError == "lease expired")
        #expect(delivery.availableAt == t0 + 30 + 2 * 0.9995)
        #expect(delivery.expireIfDue(now: t0 + 1000, policy: policy, random: 0).isEmpty, "a queued message does not expire")
        // Noticed late, the back-off still counts from the lease's expiry.
        var late = Delivery.enqueued(at: t0)
        _ = try late.lease(token: LeaseToken("t2"), now: t0, visibility: 30)
        _ = late.expireIfDue(now: t0 + 500, policy: policy, random: 0)
        #expect(late.availableAt == t0 + 31)
    }

    @Test func backOffIsExponentialJitteredAndCapped() {
        let policy = RetryPolicy(baseDelay: 1, maxDelay: 60, jitter: 0.25, maxDeliveries: 10)
        #expect(policy.delay(afterFailures: 1, random: 0) == 0.75)
        #expect(policy.delay(afterFailures: 1, random: 1) == 1)
        #expect(policy.delay(afterFailures: 4, random: 0.5) == 8 * 0.875)
        #expect(policy.delay(afterFailures: 7, random: 1) == 60, "64 capped at 60")
        #expect(policy.delay(afterFailures: 500, random: 0) == 45, "huge counts do not overflow")
        let noJitter = RetryPolicy(baseDelay: 1, maxDelay: 60, jitter: 0, maxDeliveries: 10)
        #expect(noJitter.delay(afterFailures: 3, random: 0.9) == 4)
        #expect(RetryPolicy.default.maxDeliveries == 10)
    }
}

@Suite("FIFO lease selection")
struct LeaseSelectionTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    func candidate(_ id: Int64, _ record: String, _ updatedAt: String, _ state: DeliveryState = .queued, availableAt: Date? = nil) -> LeaseSelection.Candidate {
        .init(id: MessageID(id), recordId: record, updatedAt: updatedAt, sequence: id, state: state, availableAt: availableAt ?? t0)
    }

    @Test func oneHeadPerGroupInUpdatedAtOrder() {
        let selected = LeaseSelection.select([
            candidate(1, "r1", "2026-01-02"),
            candidate(2, "r1", "2026-01-01"),
            candidate(3, "r2", "2026-01-05"),
            candidate(4, "r2", "2026-01-05"),
        ], max: 10, now: t0)
        #expect(selected == [MessageID(2), MessageID(3)])
    }

    @Test func inFlightOrBackingOffHeadBlocksItsGroupOnly() {
        let selected = LeaseSelection.select([
            candidate(1, "r1", "a", .leased),
            candidate(2, "r1", "b"),
            candidate(3, "r2", "a", availableAt: t0 + 10),
            candidate(4, "r2", "b"),
            candidate(5, "r3", "a"),
        ], max: 10, now: t0)
        #expect(selected == [MessageID(5)])
    }

    @Test func ackedAndDeadDoNotBlock() {
        let selected = LeaseSelection.select([
            candidate(1, "r1", "a", .dead),
            candidate(2, "r1", "b"),
            candidate(3, "r2", "a", .acked),
            candidate(4, "r2", "b"),
        ], max: 10, now: t0)
        #expect(selected == [MessageID(2), MessageID(4)])
    }

    @Test func orderedByAvailabilityThenSequenceAndLimited() {
        let candidates = [
            candidate(1, "r1", "a", availableAt: t0 - 5),
            candidate(2, "r2", "a", availableAt: t0 - 10),
            candidate(3, "r3", "a", availableAt: t0 - 10),
        ]
        #expect(LeaseSelection.select(candidates, max: 10, now: t0) == [MessageID(2), MessageID(3), MessageID(1)])
        #expect(LeaseSelection.select(candidates, max: 2, now: t0) == [MessageID(2), MessageID(3)])
        #expect(LeaseSelection.select(candidates, max: 0, now: t0).isEmpty)
    }
}

extension LeaseSelectionTests {
    @Test func aGroupNeverHasTwoInFlight() {
        // An earlier updatedAt that arrives (or is replayed) while a later one is leased waits.
        let selected = LeaseSelection.select([
            candidate(5, "r1", "2026-01-01"),
            candidate(2, "r1", "2026-01-02", .leased),
            candidate(6, "r2", "2026-01-01"),
        ], max: 10, now: t0)
        #expect(selected == [MessageID(6)])
    }
}

extension LeaseSelectionTests {
    @Test func mayLeaseNeedsHeadQueuedAvailableAndIdleGroup() {
        let c = candidate(1, "r1", "a")
        #expect(LeaseSelection.mayLease(c, groupHead: MessageID(1), groupInFlight: false, now: t0))
        #expect(!LeaseSelection.mayLease(c, groupHead: MessageID(0), groupInFlight: false, now: t0), "not the head")
        #expect(!LeaseSelection.mayLease(c, groupHead: MessageID(1), groupInFlight: true, now: t0), "group busy")
        #expect(!LeaseSelection.mayLease(c, groupHead: MessageID(1), groupInFlight: false, now: t0 - 1), "backing off")
        #expect(!LeaseSelection.mayLease(candidate(1, "r1", "a", .leased), groupHead: MessageID(1), groupInFlight: false, now: t0))
    }

    /// Lease tokens are random UUID v4 text (as Foundation's were), each one new.
    @Test func leaseTokensAreRandomVersion4UUIDs() {
        let tokens = (0..<1000).map { _ in LeaseToken.random().rawValue }
        #expect(Set(tokens).count == tokens.count)
        for token in tokens {
            #expect(token.count == 36)
            #expect(UUID(uuidString: token)?.uuidString.lowercased() == token, "\(token)")
            let characters = Array(token)
            #expect(characters[14] == "4", "version 4: \(token)")
            #expect("89ab".contains(characters[19]), "RFC 4122 variant: \(token)")
        }
        // Every hex digit outside the fixed ones varies.
        let digits = Set(tokens.flatMap { Array($0.replacingOccurrences(of: "-", with: "")) })
        #expect(digits.count == 16)
    }

    /// `depths` writes nothing: an expired lease still stored as leased is counted where its
    /// expiry will put it, queued or (after its last allowed delivery) dead.
    @Test func depthsCountExpiredLeasesWhereExpiryPutsThem() {
        let policy = RetryPolicy(maxDeliveries: 3)
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let counts = QueueCounts(
            states: [
                QueueCounts.Key(destination: "b", state: .queued): 4, QueueCounts.Key(destination: "b", state: .leased): 5,
                QueueCounts.Key(destination: "b", state: .acked): 7, QueueCounts.Key(destination: "c", state: .dead): 1,
            ],
            expired: [
                QueueCounts.Key(destination: "b", state: .leased, deliveryCount: 0): 2,
                QueueCounts.Key(destination: "b", state: .leased, deliveryCount: 2): 1,
            ])
        let depths = QueueDecision.depths(counts, now: now, configuration: QueueConfiguration(retry: policy))
        #expect(depths["b"] == QueueDepth(queued: 6, leased: 2, dead: 1, acked: 7))
        #expect(depths["c"] == QueueDepth(dead: 1))
    }
}
