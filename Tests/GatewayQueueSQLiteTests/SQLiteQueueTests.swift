import Foundation
import GatewayQueue
import GatewayQueueContract
import GRDB
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
        #expect(try await full.pragma("page_size") == "8192", "a new file gets 8 KiB pages")
        #expect(try await full.pragma("temp_store") == "2", "statement journals in memory")
    }

    /// Writes a database file at `path` migrated up to `migration` only, with the rows `sql` inserts.
    static func oldDatabase(_ path: String, migratedUpTo migration: String, holding sql: String) async throws {
        let old = try DatabaseQueue(path: path)
        try SQLiteMessageQueue.migrator.migrate(old, upTo: migration)
        try await old.write { db in try db.execute(sql: sql) }
    }

    /// A database written before `queued` events became implicit (migration v1 only, one
    /// `queued` history row per message) reads the same after the upgrade: one `queued` event
    /// per message, first, at the enqueue time.
    @Test func historyOfAVersion1DatabaseSurvivesTheUpgrade() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("v1.sqlite")
        try await Self.oldDatabase(path, migratedUpTo: "v1", holding: """
            INSERT INTO envelope (id, submitter, kind, record_id, updated_at, payload_digest, destinations, body, enqueued_at)
            VALUES ('e1', 'a', 'traffic-violation', 'r1', '2026-01-01T00:00:00Z', 'd1', 'b\nc', x'7b7d', 1800000000000);
            INSERT INTO message (id, envelope_id, destination, submitter, record_id, updated_at, state, delivery_count, available_at)
            VALUES (1, 'e1', 'b', 'a', 'r1', '2026-01-01T00:00:00Z', 'leased', 0, 1800000000000),
                   (2, 'e1', 'c', 'a', 'r1', '2026-01-01T00:00:00Z', 'queued', 0, 1800000000000);
            INSERT INTO history (message_id, at, event, delivery_count, detail)
            VALUES (1, 1800000000000, 'queued', 0, NULL), (2, 1800000000000, 'queued', 0, NULL),
                   (1, 1800000005000, 'leased', 0, NULL);
            """)
        let queue = try SQLiteMessageQueue(path: path)
        let history = try await queue.history(envelopeId: "e1")
        #expect(history.map(\.event) == [.queued, .queued, .leased])
        #expect(history.map(\.destination) == ["b", "c", "b"])
        #expect(history.map(\.at) == [1_800_000_000, 1_800_000_000, 1_800_000_005].map { Date(timeIntervalSince1970: $0) })
        // New messages get the same derived event.
        let item = contractItem(recordId: "r2", to: ["b"])
        _ = try await queue.enqueue(submitter: "a", items: [item])
        #expect(try await queue.history(envelopeId: item.envelopeId).map(\.event) == [.queued])
    }

    /// A database of migration v2 (before outboxes) holding a dead outbox message gets the
    /// outbox rule once opened: the dead message holds back its record's later revision.
    @Test func outboxRuleAppliesToAVersion2Database() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("v2.sqlite")
        try await Self.oldDatabase(path, migratedUpTo: "v2-implicit-queued", holding: """
            INSERT INTO envelope (id, submitter, kind, record_id, updated_at, payload_digest, destinations, body, enqueued_at)
            VALUES ('e1', 'a', 'traffic-violation', 'r1', '2026-01-01T01:00:00Z', 'd1', 'node:x', x'7b7d', 1800000000000),
                   ('e2', 'a', 'traffic-violation', 'r1', '2026-01-01T02:00:00Z', 'd2', 'node:x', x'7b7d', 1800000000000);
            INSERT INTO message (id, envelope_id, destination, submitter, record_id, updated_at, state, delivery_count,
                                 available_at, last_error, died_at)
            VALUES (1, 'e1', 'node:x', 'a', 'r1', '2026-01-01T01:00:00Z', 'dead', 1, 1800000000000, 'rejected', 1800000000000),
                   (2, 'e2', 'node:x', 'a', 'r1', '2026-01-01T02:00:00Z', 'queued', 0, 1800000000000, NULL, NULL);
            """)
        let queue = try SQLiteMessageQueue(path: path, configuration: QueueConfiguration(clock: ManualQueueClock()))
        #expect(try await queue.lease(participant: "node:x", max: 10, visibility: 30).isEmpty, "held by the dead revision")
        try await queue.discard(messageId: MessageID(1))
        #expect(try await queue.lease(participant: "node:x", max: 10, visibility: 30).map(\.envelopeId) == ["e2"])
    }

    @Test func leaseSearchesIndexesOnly() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let queue = try SQLiteMessageQueue(path: directory.path("queue.sqlite"))
        _ = try await queue.enqueue(submitter: "a", items: (0..<50).map { contractItem(recordId: "r\($0 % 7)", to: ["b", "c"]) })
        // The outbox flag (argument 4) only adds a probe of the dead messages of the group.
        let plan = try await queue.queryPlan(SQLiteMessageQueue.leaseSQL, arguments: ["b", Int64.max, 10, 1])
        let text = plan.joined(separator: "\n")
        #expect(text.contains("SEARCH m USING INDEX message_ready (destination=? AND available_at<?)"), "\(text)")
        #expect(text.contains("SEARCH p USING INDEX message_group (destination=? AND record_id=?)"), "\(text)")
        #expect(text.contains("SEARCH d USING INDEX message_dead_group (destination=? AND record_id=?)"), "\(text)")
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

    /// Empty text and an empty envelope are stored as such, not as NULL (the columns are NOT NULL),
    /// and come back byte for byte with non-ASCII text.
    @Test func emptyAndNonASCIIValuesRoundTrip() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let queue = try SQLiteMessageQueue(path: directory.path("queue.sqlite"))
        let item = EnqueueItem(
            envelopeId: "e-空", kind: "", recordId: "渝A12345", updatedAt: "", payloadDigest: "", destinations: ["xinsheng"],
            envelope: [])
        #expect(try await queue.enqueue(submitter: "renshi", items: [item]).first?.duplicate == false)
        let leased = try #require(try await queue.lease(participant: "xinsheng", max: 10, visibility: 30).first)
        #expect(leased.envelopeId == "e-空" && leased.recordId == "渝A12345")
        #expect(leased.kind == "" && leased.updatedAt == "" && leased.payloadDigest == "" && leased.envelope == [])
        try await queue.ack(participant: "xinsheng", leaseToken: leased.leaseToken, outcome: .rejected(reason: "签名无效"), receipt: [])
        let receipt = try #require(try await queue.receipts(envelopeId: "e-空").first)
        #expect(receipt.outcome == .rejected(reason: "签名无效") && receipt.receipt == [])
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
