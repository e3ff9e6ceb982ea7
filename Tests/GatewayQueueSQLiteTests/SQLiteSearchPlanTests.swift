import Foundation
import GatewayQueue
import GatewayQueueContract
import GRDB
@testable import GatewayQueueSQLite
import Testing

/// The message search (`MessageQueue.search`, the console's browser) must lead with an index for
/// each filter and walk ids newest first, never sort the queue: checked on SQLite's plan (`EXPLAIN
/// QUERY PLAN`) of the statement the driver runs, on a file without statistics as the driver keeps
/// it. No timing (the figures are `xgw bench search`'s).
@Suite("SQLite message search plan")
struct SQLiteSearchPlanTests {
    static func plan(_ queue: SQLiteMessageQueue, _ search: MessageSearch, before: MessageID? = nil) async throws -> String {
        var stored = search
        stored.states = search.storedStates
        let query = SQLiteMessageQueue.searchSQL(stored, before: before, limit: 50)
        return try await queue.queryPlan(query.sql, arguments: query.arguments).joined(separator: "\n")
    }

    @Test func eachFilterLeadsWithItsIndex() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let queue = try SQLiteMessageQueue(path: directory.path("queue.sqlite"))
        _ = try await queue.enqueue(submitter: "a", items: (0..<50).map { contractItem(recordId: "r\($0 % 7)", to: ["b", "c"]) })
        let now = Date()

        // Nothing, kind, acked: the primary key from the newest id down, the envelope by its key.
        for search in [MessageSearch(), MessageSearch(kind: "bulletin"), MessageSearch(states: [.acked])] {
            let text = try await Self.plan(queue, search, before: MessageID(40))
            #expect(text.contains("SEARCH m USING INTEGER PRIMARY KEY (rowid<?)"), "\(search): \(text)")
            #expect(text.contains("SEARCH e USING INDEX sqlite_autoindex_envelope_1 (id=?)"), "\(search): \(text)")
            #expect(!text.contains("TEMP B-TREE"), "\(search): walked in id order, not sorted: \(text)")
        }
        // Unsettled states: the partial index of unsettled messages.
        for states: Set<DeliveryState> in [[.dead], [.queued], [.leased, .dead]] {
            let text = try await Self.plan(queue, MessageSearch(states: states))
            #expect(text.contains("SCAN m USING INDEX message_unsettled"), "\(states): \(text)")
            #expect(!text.contains("TEMP B-TREE"), "\(states): \(text)")
        }
        // A participant (or a participant's own view): its messages as destination and as submitter.
        for search in [
            MessageSearch(participant: "b"), MessageSearch(visibleTo: "b"),
            MessageSearch(participant: "c", visibleTo: "a", kind: "traffic-violation", states: [.queued], enqueuedFrom: now),
        ] {
            let text = try await Self.plan(queue, search)
            #expect(text.contains("SEARCH m USING INDEX message_destination (destination=?"), "\(search): \(text)")
            #expect(text.contains("SEARCH m USING INDEX message_submitter (submitter=?"), "\(search): \(text)")
            #expect(text.contains("SEARCH m USING INTEGER PRIMARY KEY (rowid=?)"), "\(search): the page by its ids: \(text)")
            #expect(!text.contains("TEMP B-TREE FOR ORDER BY\n|  |"), "\(search): \(text)")
        }
        // An envelope or a record: their few messages, then sorted.
        var text = try await Self.plan(queue, MessageSearch(envelopeId: "x", participant: "b"))
        #expect(text.contains("SEARCH m USING INDEX message_envelope (envelope_id=?)"), "\(text)")
        text = try await Self.plan(queue, MessageSearch(recordId: "r1", states: [.dead]))
        #expect(text.contains("SEARCH e USING INDEX envelope_record (record_id=?)"), "\(text)")
        #expect(text.contains("SEARCH m USING INDEX message_envelope (envelope_id=?)"), "\(text)")
        // A time range: the ids walked are bounded through the envelopes' time index.
        text = try await Self.plan(queue, MessageSearch(enqueuedFrom: now.addingTimeInterval(-3600), enqueuedTo: now))
        #expect(text.contains("SEARCH m USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)"), "\(text)")
        #expect(text.contains("SEARCH x USING INDEX envelope_enqueued (enqueued_at>?)"), "\(text)")
        #expect(text.contains("SEARCH x USING INDEX envelope_enqueued (enqueued_at<?)"), "\(text)")
        #expect(!text.contains("TEMP B-TREE"), "\(text)")
    }
}
