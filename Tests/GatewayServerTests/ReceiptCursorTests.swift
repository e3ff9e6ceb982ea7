import Foundation
import GatewayQueue
import GatewayQueueSQLite
import GatewayServer
import Testing

/// Issue 17 row 13 at its edge: receipts acked in one and the same millisecond (a batch ack), more
/// than a page of them, on a real SQLite queue. A cursor pages through each once; a time cannot.
struct ReceiptCursorTests {
    @Test func aCursorPagesPastAMillisecondHoldingMoreThanAPage() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("xgw-cursor-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let clock = ManualQueueClock(Date(timeIntervalSince1970: 1_800_000_000.123))
        let queue = try SQLiteMessageQueue(path: folder.appendingPathComponent("q.sqlite").path, configuration: QueueConfiguration(clock: clock))
        let count = 9
        let items = (0..<count).map { i in
            EnqueueItem(
                envelopeId: UUID().uuidString.lowercased(), kind: "traffic-violation", recordId: "r\(i)", updatedAt: "2026-01-01T00:00:00Z",
                payloadDigest: "d\(i)", destinations: ["renshi"], envelope: Array("{\"n\":\(i)}".utf8))
        }
        _ = try await queue.enqueue(submitter: "xinsheng", items: items)
        let leased = try await queue.lease(participant: "renshi", max: count, visibility: 60)
        #expect(leased.count == count)
        let refused = try await queue.ack(participant: "renshi", leased.map { Acknowledgement(leaseToken: $0.leaseToken) })
        #expect(refused.allSatisfy { $0 == nil })
        let all = try await queue.receipts(submitter: "xinsheng", since: .distantPast, limit: 100)
        #expect(all.count == count)
        #expect(Set(all.map { ReceiptCursor($0) }.map(\.ackedAtMillis)).count == 1, "one millisecond for all")

        // Pages of 4 from before the first: 4, 4, 1, then none, each receipt once and in order.
        var cursor = ReceiptCursor(ackedAtMillis: 0, messageId: 0)
        var seen: [Int64] = []
        for _ in 0..<5 {
            let page = try await cursor.page(of: queue, submitter: "xinsheng", limit: 4)
            seen += page.map(\.messageId.rawValue)
            guard let last = page.last else { break }
            cursor = ReceiptCursor(last)
        }
        #expect(seen == all.map(\.messageId.rawValue), "\(seen)")

        // Starting inside the millisecond: after the third receipt, the other six.
        let third = ReceiptCursor(all[2])
        let rest = try await third.page(of: queue, submitter: "xinsheng", limit: 100)
        #expect(rest.map(\.messageId) == Array(all.dropFirst(3)).map(\.messageId))

        // The cursor's text round-trips; other text is refused.
        #expect(ReceiptCursor(third.description) == third)
        for bad in ["", "1", "1-", "-1", "a-1", "1-2-3", "+1-2", "99999999999999999999-1"] {
            #expect(ReceiptCursor(bad) == nil, "\(bad)")
        }
    }
}
