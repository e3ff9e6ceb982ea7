import Foundation
import GatewayQueue

extension Context {
    /// `inbox`: a destination's queued, leased and dead messages as headers, by id, paged with
    /// `after`; reading changes nothing (no lease, no reclaim, no history); an expired lease shows
    /// where reclaiming it will put it.
    func inboxReadsHeadersWithoutLeasing() async throws {
        let all = MessageHeader.inboxStates
        let start = clock.now()
        let items = (1...3).map { contractItem(recordId: "r\($0)", to: ["b"]) } + [contractItem(recordId: "r4", to: ["b", "c"])]
        _ = try await queue.enqueue(submitter: "a", items: items)
        clock.advance(by: 5)
        let leased = try await lease("b", max: 2)
        try await queue.deadLetter(participant: "b", leaseToken: leased[1].leaseToken, reason: "rejected")
        let depths = try await queue.depths()
        let histories = try await histories(items)

        var page = try await queue.inbox(participant: "b", states: all, after: nil, limit: 10)
        try check(page.headers.map(\.recordId) == ["r1", "r2", "r3", "r4"], "b's messages by id: \(page.headers.map(\.recordId))")
        try check(page.headers.map(\.delivery.state) == [.leased, .dead, .queued, .queued], "states: \(page.headers.map(\.delivery.state))")
        try check(page.headers.map(\.envelopeId) == items.map(\.envelopeId), "envelope ids")
        try check(page.headers.allSatisfy {
            $0.submitter == "a" && $0.destination == "b" && $0.kind == "traffic-violation" && $0.enqueuedAt == start
        }, "submitter, destination, kind, enqueue time")
        try check(page.headers[0].delivery.leaseExpiresAt == leased[0].leaseExpiresAt, "a lease's expiry")
        try check(page.headers[1].delivery.lastError == "rejected", "a dead message's last error")
        try check(page.next == nil, "one page holds all four")

        // Paging: `after` is the last id seen; a page cut at `limit` says where the next starts.
        page = try await queue.inbox(participant: "b", states: all, after: nil, limit: 3)
        try check(page.headers.count == 3 && page.next == page.headers[2].messageId, "a full page has a next")
        page = try await queue.inbox(participant: "b", states: all, after: page.next, limit: 3)
        try check(page.headers.map(\.recordId) == ["r4"] && page.next == nil, "the last page: \(page.headers.map(\.recordId))")
        // A state filter: the leased r1 fills the scanned page but is not listed.
        page = try await queue.inbox(participant: "b", states: [.queued], after: nil, limit: 2)
        try check(page.headers.map(\.recordId) == ["r3"], "queued only: \(page.headers.map(\.recordId))")
        try check(page.next == page.headers.last?.messageId, "a filtered page still has a next")
        page = try await queue.inbox(participant: "b", states: [.queued], after: page.next, limit: 2)
        try check(page.headers.map(\.recordId) == ["r4"] && page.next == nil, "queued, second page")
        page = try await queue.inbox(participant: "b", states: [.dead], after: nil, limit: 10)
        try check(page.headers.map(\.recordId) == ["r2"], "dead only")
        try check(try await queue.inbox(participant: "c", states: all, after: nil, limit: 10).headers.map(\.recordId) == ["r4"],
            "c sees only its own")
        try check(try await queue.inbox(participant: "z", states: all, after: nil, limit: 10).headers.isEmpty, "an empty inbox")

        // Nothing changed by reading.
        try check(try await queue.depths() == depths, "depths unchanged")
        try check(try await self.histories(items) == histories, "no history written")

        // An expired lease shows as queued again (one failed delivery), as depths count it.
        clock.advance(by: 31)
        page = try await queue.inbox(participant: "b", states: [.queued], after: nil, limit: 10)
        try check(page.headers.map(\.recordId) == ["r1", "r3", "r4"], "the expired lease is queued: \(page.headers.map(\.recordId))")
        try check(page.headers[0].delivery.deliveryCount == 1 && page.headers[0].delivery.leaseExpiresAt == nil, "one failed delivery")
        try check(try await queue.inbox(participant: "b", states: [.leased], after: nil, limit: 10).headers.isEmpty, "no lease current")
        try check(try await self.histories(items) == histories, "the expired lease is not reclaimed by reading")

        // Acked messages are settled: never listed, and not asked for.
        let again = try await lease("b", max: 1)
        try await queue.ack(participant: "b", leaseToken: again[0].leaseToken)
        page = try await queue.inbox(participant: "b", states: all, after: nil, limit: 10)
        let expected = ["r1", "r2", "r3", "r4"].filter { $0 != again[0].recordId }
        try check(page.headers.map(\.recordId) == expected, "an acked message is not listed: \(page.headers.map(\.recordId))")
        try await checkThrows(.invalidArgument) { _ = try await queue.inbox(participant: "b", states: [.acked], after: nil, limit: 10) }
        try await checkThrows(.invalidArgument) { _ = try await queue.inbox(participant: "b", states: [], after: nil, limit: 10) }
        try await checkThrows(.invalidArgument) { _ = try await queue.inbox(participant: "b", states: all, after: nil, limit: 0) }
    }

    private func histories(_ items: [EnqueueItem]) async throws -> [[HistoryEntry]] {
        var out: [[HistoryEntry]] = []
        for item in items { out.append(try await queue.history(envelopeId: item.envelopeId)) }
        return out
    }
}
