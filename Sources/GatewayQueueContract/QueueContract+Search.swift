import Foundation
import GatewayQueue

extension Context {
    /// `search`: one page of the whole queue's message headers (every state and destination,
    /// acked included), newest first, by envelope id, record id, participant (destination or
    /// submitter), kind, state and enqueue time, alone and together; a participant's view holds
    /// only what it sent or was sent; keyset pages neither skip nor repeat while messages are
    /// added; reading changes nothing.
    func searchFindsAcrossTheWholeQueue() async throws {
        let start = clock.now()
        let first = (1...3).map { contractItem(recordId: "r\($0)", to: ["b"]) }
        _ = try await queue.enqueue(submitter: "a", items: first)
        clock.advance(by: 10)
        var notice = contractItem(recordId: "s1", to: ["b", "d"])
        notice.kind = "bulletin"
        _ = try await queue.enqueue(submitter: "c", items: [notice])
        clock.advance(by: 10)
        let back = contractItem(recordId: "q1", to: ["a"])
        _ = try await queue.enqueue(submitter: "b", items: [back])
        let last = clock.now()

        // b: r1 leased (its lease runs out below), r2 dead, r3 acked, s1 queued.
        let leased = try await lease("b", max: 3)
        try check(leased.map(\.recordId) == ["r1", "r2", "r3"], "b leases r1-r3: \(leased.map(\.recordId))")
        try await queue.deadLetter(participant: "b", leaseToken: leased[1].leaseToken, reason: "rejected")
        try await queue.ack(participant: "b", leaseToken: leased[2].leaseToken, outcome: .rejected(reason: "bad"))
        _ = try await queue.lease(participant: "b", max: 1, visibility: 600)  // s1 leased for long: stays leased
        clock.advance(by: 31)  // r1's lease (30 s) has expired, not reclaimed
        let depths = try await queue.depths()
        var histories: [[HistoryEntry]] = []
        for item in first + [notice, back] { histories.append(try await queue.history(envelopeId: item.envelopeId)) }

        let everything = try await queue.search(MessageSearch(), before: nil, limit: 100)
        let keys = everything.headers.map { "\($0.recordId)>\($0.destination)" }
        try check(keys == ["q1>a", "s1>d", "s1>b", "r3>b", "r2>b", "r1>b"], "every message, newest first: \(keys)")
        try check(everything.next == nil, "one page holds all six")
        let byKey = Dictionary(uniqueKeysWithValues: zip(keys, everything.headers))
        try check(byKey["r1>b"]?.delivery.state == .queued && byKey["r1>b"]?.delivery.deliveryCount == 1,
            "an expired lease shows as queued, one failed delivery")
        try check(byKey["s1>b"]?.delivery.state == .leased, "a current lease")
        try check(byKey["r2>b"]?.delivery.state == .dead && byKey["r2>b"]?.delivery.lastError == "rejected", "dead, with its reason")
        try check(byKey["r2>b"]?.diedAt == start + 20 && byKey.values.filter { $0.diedAt != nil }.count == 1,
            "when it died, and no death time for the others: \(everything.headers.map(\.diedAt))")
        try check(byKey["r3>b"]?.delivery.state == .acked && byKey["r3>b"]?.delivery.outcome == .rejected(reason: "bad")
            && byKey["r3>b"]?.ackedAt != nil, "acked, with its outcome and ack time")
        try check(byKey["s1>d"]?.delivery.state == .queued && byKey["s1>d"]?.kind == "bulletin" && byKey["s1>d"]?.submitter == "c",
            "kind and submitter")
        try check(byKey["r1>b"]?.enqueuedAt == start && byKey["q1>a"]?.enqueuedAt == last, "enqueue times")

        // Each filter, then together: the answer is exactly the messages `matches` keeps, newest first.
        func expect(_ search: MessageSearch, _ wanted: [String], line: Int = #line) async throws {
            let page = try await queue.search(search, before: nil, limit: 100)
            let got = page.headers.map { "\($0.recordId)>\($0.destination)" }
            try check(got == wanted, "\(search): \(got), expected \(wanted)", line: line)
            let oracle = everything.headers.filter { search.normalised.matches($0, states: search.states) }
            try check(page.headers == oracle, "\(search): the rule's answer", line: line)
        }
        try await expect(MessageSearch(envelopeId: notice.envelopeId), ["s1>d", "s1>b"])
        try await expect(MessageSearch(envelopeId: "no-such-envelope"), [])
        try await expect(MessageSearch(recordId: "r2"), ["r2>b"])
        try await expect(MessageSearch(participant: "a"), ["q1>a", "r3>b", "r2>b", "r1>b"])
        try await expect(MessageSearch(participant: "d"), ["s1>d"])
        try await expect(MessageSearch(participant: "c"), ["s1>d", "s1>b"])
        try await expect(MessageSearch(kind: "bulletin"), ["s1>d", "s1>b"])
        try await expect(MessageSearch(states: [.queued]), ["q1>a", "s1>d", "r1>b"])
        try await expect(MessageSearch(states: [.leased]), ["s1>b"])
        try await expect(MessageSearch(states: [.dead]), ["r2>b"])
        try await expect(MessageSearch(states: [.acked]), ["r3>b"])
        try await expect(MessageSearch(states: [.dead, .acked]), ["r3>b", "r2>b"])
        try await expect(MessageSearch(enqueuedFrom: start.addingTimeInterval(10)), ["q1>a", "s1>d", "s1>b"])
        try await expect(MessageSearch(enqueuedTo: start.addingTimeInterval(10)), ["s1>d", "s1>b", "r3>b", "r2>b", "r1>b"])
        try await expect(
            MessageSearch(enqueuedFrom: start.addingTimeInterval(5), enqueuedTo: start.addingTimeInterval(15)), ["s1>d", "s1>b"])
        try await expect(MessageSearch(envelopeId: "", recordId: "", participant: "", kind: ""), keys)
        // Together.
        try await expect(MessageSearch(participant: "b", kind: "traffic-violation", states: [.queued, .dead]), ["q1>a", "r2>b", "r1>b"])
        try await expect(MessageSearch(participant: "b", kind: "bulletin", states: [.queued]), [])
        try await expect(MessageSearch(recordId: "s1", participant: "d", kind: "bulletin", states: [.queued], enqueuedFrom: start), ["s1>d"])
        try await expect(MessageSearch(participant: "b", states: [.acked, .leased], enqueuedTo: start), ["r3>b"])

        // A participant's view: only what it sent or was sent, whatever else is asked.
        try await expect(MessageSearch(visibleTo: "d"), ["s1>d"])
        try await expect(MessageSearch(visibleTo: "c"), ["s1>d", "s1>b"])
        try await expect(MessageSearch(participant: "b", visibleTo: "d"), [])
        try await expect(MessageSearch(participant: "b", visibleTo: "a"), ["q1>a", "r3>b", "r2>b", "r1>b"])
        try await expect(MessageSearch(envelopeId: first[0].envelopeId, visibleTo: "d"), [])
        try await expect(MessageSearch(recordId: "s1", visibleTo: "d"), ["s1>d"])
        try await expect(MessageSearch(visibleTo: "z"), [])

        // Nothing changed by reading.
        try check(try await queue.depths() == depths, "depths unchanged")
        var after: [[HistoryEntry]] = []
        for item in first + [notice, back] { after.append(try await queue.history(envelopeId: item.envelopeId)) }
        try check(after == histories, "no history written, the expired lease not reclaimed")

        // Keyset pages of 2 while messages are added between pages: the pages hold exactly the six
        // there were at the start, newest first, none twice; the new ones are on a fresh first page.
        var seen: [MessageID] = []
        var cursor: MessageID?
        var pages = 0
        repeat {
            let page = try await queue.search(MessageSearch(), before: cursor, limit: 2)
            seen += page.headers.map(\.messageId)
            cursor = page.next
            pages += 1
            clock.advance(by: 1)
            _ = try await queue.enqueue(submitter: "a", items: [contractItem(recordId: "n\(pages)", to: ["b"])])
        } while cursor != nil && pages < 10
        try check(seen == everything.headers.map(\.messageId), "pages without gaps or repeats: \(seen)")
        try check(pages == 4, "three full pages and an empty last: \(pages)")
        let fresh = try await queue.search(MessageSearch(participant: "b", states: [.queued]), before: nil, limit: 2)
        try check(fresh.headers.map(\.recordId) == ["n4", "n3"] && fresh.next == fresh.headers.last?.messageId,
            "the added messages come first on a new search: \(fresh.headers.map(\.recordId))")
        let rest = try await queue.search(MessageSearch(participant: "b", states: [.queued]), before: fresh.next, limit: 10)
        try check(rest.headers.map(\.recordId) == ["n2", "n1", "q1", "r1"] && rest.next == nil,
            "the next page continues below the cursor: \(rest.headers.map(\.recordId))")
        // A filtered page is cut at `limit` rows read: the leased s1 (read for `queued`, since a
        // lease may have expired) fills a slot without being listed, and the page still has a next.
        let cut = try await queue.search(MessageSearch(recordId: "s1", states: [.queued]), before: nil, limit: 1)
        try check(cut.headers.map(\.destination) == ["d"] && cut.next != nil, "s1 queued at d only: \(cut.headers.map(\.destination))")
        let cutRest = try await queue.search(MessageSearch(recordId: "s1", states: [.queued]), before: cut.next, limit: 1)
        try check(cutRest.headers.isEmpty && cutRest.next != nil, "s1 at b is leased: read, not listed")

        try await checkThrows(.invalidArgument) { _ = try await queue.search(MessageSearch(), before: nil, limit: 0) }
        try await checkThrows(.invalidArgument) { _ = try await queue.search(MessageSearch(), before: nil, limit: 1001) }
        try await checkThrows(.invalidArgument) {
            _ = try await queue.search(MessageSearch(enqueuedFrom: last, enqueuedTo: start), before: nil, limit: 10)
        }
    }
}
