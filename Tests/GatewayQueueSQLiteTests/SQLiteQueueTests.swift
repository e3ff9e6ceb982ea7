import Foundation
import GatewayQueue
import GatewayQueueContract
@testable import GatewayQueueSQLite
import Testing

@Suite("SQLite driver specifics")
struct SQLiteQueueTests {
    @Test func walModeAndSynchronousSetting() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let full = try SQLiteMessageQueue(path: directory.path("full.sqlite"))
        #expect(try await full.pragma("journal_mode") == "wal")
        #expect(try await full.pragma("synchronous") == "2", "FULL by default")
        let normal = try SQLiteMessageQueue(path: directory.path("normal.sqlite"), synchronous: .normal)
        #expect(try await normal.pragma("synchronous") == "1")
    }

    @Test func leaseSearchesIndexesOnly() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let queue = try SQLiteMessageQueue(path: directory.path("queue.sqlite"))
        _ = try await queue.enqueue(submitter: "a", items: (0..<50).map { contractItem(recordId: "r\($0 % 7)", to: ["b", "c"]) })
        let plan = try await queue.queryPlan(SQLiteMessageQueue.leaseSQL, arguments: ["b", Int64.max, 10])
        let text = plan.joined(separator: "\n")
        #expect(text.contains("SEARCH m USING INDEX message_ready (destination=? AND available_at<?)"), "\(text)")
        #expect(text.contains("SEARCH p USING INDEX message_group (destination=? AND record_id=?)"), "\(text)")
        #expect(text.contains("SEARCH e USING INDEX sqlite_autoindex_envelope_1 (id=?)"), "\(text)")
        #expect(!text.contains("SCAN"), "no full scan and no sort step: \(text)")
        #expect(!text.contains("TEMP B-TREE"), "ordered by the index itself: \(text)")
    }

    @Test func everythingSurvivesReopening() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("queue.sqlite")
        let clock = ManualQueueClock()
        let configuration = QueueConfiguration(clock: clock)
        let items = (0..<3).map { contractItem(recordId: "r\($0)", to: ["b"]) }
        var leased: [LeasedMessage] = []
        do {
            let queue = try SQLiteMessageQueue(path: path, configuration: configuration)
            _ = try await queue.enqueue(submitter: "a", items: items)
            leased = try await queue.lease(participant: "b", max: 2, visibility: 30)
            try await queue.ack(participant: "b", leaseToken: leased[0].leaseToken, receipt: [7])
        }
        let reopened = try SQLiteMessageQueue(path: path, configuration: configuration)
        // The lease taken before reopening is still held: its token still works.
        try await reopened.ack(participant: "b", leaseToken: leased[1].leaseToken)
        #expect(try await reopened.receipts(envelopeId: items[0].envelopeId).first?.receipt == [7])
        #expect(try await reopened.lease(participant: "b", max: 10, visibility: 30).map(\.envelopeId) == [items[2].envelopeId])
        #expect(try await reopened.enqueue(submitter: "a", items: [items[0]]).first?.duplicate == true)
        #expect(try await reopened.depths()["b"] == QueueDepth(queued: 0, leased: 1, dead: 0, acked: 2))
    }

    @Test func notADatabaseIsAStorageError() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("garbage.sqlite")
        try Data(repeating: 0x41, count: 8192).write(to: URL(fileURLWithPath: path))
        #expect {
            _ = try SQLiteMessageQueue(path: path)
        } throws: { error in
            (error as? QueueError)?.code == .storage
        }
    }
}

extension SQLiteQueueTests {
    /// Concurrent calls share transactions (group commit), yet each stays all-or-nothing: a
    /// refused document next to accepted ones stores nothing, the others are all stored.
    @Test func concurrentCallsStayAtomicUnderGroupCommit() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let queue = try SQLiteMessageQueue(path: directory.path("queue.sqlite"))
        let taken = contractItem(recordId: "taken", to: ["b"])
        _ = try await queue.enqueue(submitter: "a", items: [taken])
        let documents = (0..<40).map { n in
            (0..<3).map { i in
                // Document 17's last item reuses a stored envelope id under another key.
                n == 17 && i == 2
                    ? contractItem(recordId: "clash", to: ["b"], envelopeId: taken.envelopeId)
                    : contractItem(recordId: "d\(n)-\(i)", to: ["b"])
            }
        }
        let outcomes = await withTaskGroup(of: (Int, Bool).self) { group in
            for (n, document) in documents.enumerated() {
                group.addTask { (n, (try? await queue.enqueue(submitter: "a", items: document)) != nil) }
            }
            var outcomes: [Int: Bool] = [:]
            for await (n, ok) in group { outcomes[n] = ok }
            return outcomes
        }
        #expect(outcomes.filter { !$0.value }.map(\.key) == [17])
        let leased = try await queue.lease(participant: "b", max: 1000, visibility: 30)
        #expect(leased.count == 1 + 39 * 3)
        #expect(!leased.contains { $0.recordId.hasPrefix("d17-") }, "the refused document stored nothing")
    }
}
