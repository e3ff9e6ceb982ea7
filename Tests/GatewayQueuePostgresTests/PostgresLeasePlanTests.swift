import Foundation
import GatewayQueue
@testable import GatewayQueuePostgres
import PostgresNIO
import Testing

/// The lease must not walk the backlog on tables without statistics (issue 18 item 2): fresh
/// tables, or tables grown faster than autovacuum analyses them, are exactly what a day-long
/// outage of a peer leaves. Checked on the real plan (`EXPLAIN (ANALYZE, FORMAT JSON)`): the rows
/// the lease statements read, filter out or join away must not grow with the backlog. No timing.
/// Nested in the serialized "PostgreSQL driver" suite, since its multi-node test restarts the server.
extension PostgresQueueTests {
    @Suite(
        "PostgreSQL lease plan",
        .serialized,
        .enabled(if: postgresURL != nil, "XGW_TEST_POSTGRES_URL is not set: no PostgreSQL server to test against (.ci/run starts one)")
    )
    struct PostgresLeasePlanTests {
        /// Queued messages of one destination: distinct records, and every tenth record with two
        /// more updates (FIFO groups of three, only the head leasable).
        static func fill(_ queue: PostgresMessageQueue, from: Int, to: Int) async throws {
            var items: [EnqueueItem] = []
            var n = from
            while n < to {
                let record = n / 3
                let update = n % 3
                // Records 0, 10, 20, … have three updates; the others one (their 2nd and 3rd slot go to new records).
                let recordId = record % 10 == 0 ? "plan-\(record)" : "plan-\(record)-\(update)"
                items.append(EnqueueItem(
                    envelopeId: "plan-e-\(n)", kind: "traffic-violation", recordId: recordId,
                    updatedAt: "2026-01-01T00:00:0\(update)Z", payloadDigest: "d\(n)", destinations: ["xinsheng"],
                    envelope: Array(repeating: UInt8(ascii: "x"), count: 64)))
                n += 1
                if items.count == 500 || n == to {
                    _ = try await queue.enqueue(submitter: "renshi", items: items)
                    items = []
                }
            }
        }

        /// Rows every node of a plan read or dropped (actual rows, rows removed by a filter, a join
        /// filter or an index recheck), times its loops, summed over the tree.
        static func rowsTouched(_ node: [String: Any]) -> Double {
            let loops = (node["Actual Loops"] as? Double) ?? 1
            var own = 0.0
            for key in ["Actual Rows", "Rows Removed by Filter", "Rows Removed by Join Filter", "Rows Removed by Index Recheck"] {
                own += (node[key] as? Double) ?? 0
            }
            let children = (node["Plans"] as? [[String: Any]]) ?? []
            return own * loops + children.reduce(0) { $0 + rowsTouched($1) }
        }

        /// Node types and the relations they scan, for the failure message.
        static func shape(_ node: [String: Any], depth: Int = 0) -> String {
            let type = node["Node Type"] as? String ?? "?"
            let relation = (node["Relation Name"] as? String).map { " on \($0)" } ?? ""
            let index = (node["Index Name"] as? String).map { " using \($0)" } ?? ""
            let removed = (node["Rows Removed by Join Filter"] as? Double).map { " removed by join filter \(Int($0))" } ?? ""
            let line = String(repeating: "  ", count: depth) + type + relation + index
                + " rows=\(Int((node["Actual Rows"] as? Double) ?? 0)) loops=\(Int((node["Actual Loops"] as? Double) ?? 0))" + removed
            let children = (node["Plans"] as? [[String: Any]]) ?? []
            return ([line] + children.map { shape($0, depth: depth + 1) }).joined(separator: "\n")
        }

        /// `EXPLAIN (ANALYZE, FORMAT JSON)` of `query` in a transaction rolled back (the lease
        /// statements lock rows): the plan's root node.
        static func explain(_ queue: PostgresMessageQueue, _ query: PostgresQuery) async throws -> [String: Any] {
            let text = try await queue.withConnection { connection in
                try await connection.query("BEGIN", logger: queue.logger)
                let explained = PostgresQuery(unsafeSQL: "EXPLAIN (ANALYZE, FORMAT JSON) " + query.sql, binds: query.binds)
                var json = ""
                for try await buffer in try await connection.query(explained, logger: queue.logger).decode(ByteBuffer.self) {
                    json += String(buffer: buffer)
                }
                try await connection.query("ROLLBACK", logger: queue.logger)
                return json
            }
            let parsed = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]]
            return try #require(parsed?.first?["Plan"] as? [String: Any])
        }

        /// The same for the prepared lease statement (`LeaseStatement`, as the driver runs it) with
        /// its generic plan, the one PostgreSQL may keep after five executions.
        static func explainGeneric(_ queue: PostgresMessageQueue, nowMillis: Int64) async throws -> [String: Any] {
            let text = try await queue.withConnection { connection in
                let logger = queue.logger
                try await connection.query("BEGIN", logger: logger)
                try await connection.query("SET LOCAL plan_cache_mode = force_generic_plan", logger: logger)
                try await connection.query(
                    PostgresQuery(unsafeSQL: "PREPARE xgw_plan_test(text, text, bigint, boolean, bigint) AS " + LeaseStatement.sql),
                    logger: logger)
                var json = ""
                for try await buffer in try await connection.query(PostgresQuery(unsafeSQL: """
                    EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE xgw_plan_test('xgw.lease:xinsheng', 'xinsheng', \(nowMillis), false, 100)
                    """), logger: logger
                ).decode(ByteBuffer.self) {
                    json += String(buffer: buffer)
                }
                try await connection.query("DEALLOCATE xgw_plan_test", logger: logger)
                try await connection.query("ROLLBACK", logger: logger)
                return json
            }
            let parsed = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]]
            return try #require(parsed?.first?["Plan"] as? [String: Any])
        }

        /// Whether PostgreSQL holds statistics for the queue's tables (it must not, for this test).
        static func hasStatistics(_ queue: PostgresMessageQueue) async throws -> Bool {
            try await queue.withConnection { connection in
                var count = 0
                for try await n in try await connection.query(
                    "SELECT count(*)::bigint FROM pg_stats WHERE schemaname = current_schema() AND tablename IN ('message', 'envelope')",
                    logger: queue.logger
                ).decode(Int64.self) {
                    count = Int(n)
                }
                return count > 0
            }
        }

        @Test func leaseReadsTheSameRowsWith1000Or10000QueuedOnUnanalysedTables() async throws {
            let scratch = try await ScratchQueue.make()
            do {
                let queue = scratch.queue
                // Autovacuum would analyse the tables after a minute: keep them without statistics.
                _ = try await queue.withConnection { connection in
                    for table in ["envelope", "message", "history"] {
                        try await connection.query(
                            PostgresQuery(unsafeSQL: "ALTER TABLE \(table) SET (autovacuum_enabled = false)"), logger: queue.logger)
                    }
                    return true
                }
                var touched: [Int: Double] = [:]
                var backlog = 0
                for size in [1_000, 10_000] {
                    try await Self.fill(queue, from: backlog, to: size)
                    backlog = size
                    // Every message enqueued so far is available.
                    let now = PostgresMessageQueue.millis(Date()) + 1_000
                    #expect(try await !Self.hasStatistics(queue), "the tables must have no statistics for this test")
                    let plans = [
                        ("leasable", try await Self.explain(
                            queue, PostgresMessageQueue.leasableQuery(participant: "xinsheng", max: 100, nowMillis: now, lock: true))),
                        ("lease", try await Self.explain(queue, PostgresMessageQueue.leaseQuery(participant: "xinsheng", max: 100, nowMillis: now))),
                        ("prepared lease, generic plan", try await Self.explainGeneric(queue, nowMillis: now)),
                    ]
                    for (name, plan) in plans {
                        let rows = Self.rowsTouched(plan)
                        touched[size, default: 0] += rows
                        // 100 candidates, their envelopes and one group probe each: a few hundred
                        // rows, never the backlog (unfenced: 1,000,000 rows removed by a join filter).
                        #expect(rows < 2_000, "\(name) with \(size) queued touched \(Int(rows)) rows:\n\(Self.shape(plan))")
                        #expect(plan["Actual Rows"] as? Double == 100, "\(name) returns a full lease of 100:\n\(Self.shape(plan))")
                    }
                }
                let small = try #require(touched[1_000]), large = try #require(touched[10_000])
                #expect(large <= small * 1.5, "rows touched grew with the backlog: \(Int(small)) with 1,000 queued, \(Int(large)) with 10,000")
                // The whole cycle on the same unanalysed tables leases heads only, and acks them.
                let leased = try await queue.lease(participant: "xinsheng", max: 100, visibility: 300)
                #expect(leased.count == 100)
                #expect(Set(leased.map(\.recordId)).count == 100, "one message per FIFO group")
                let results = try await queue.ack(participant: "xinsheng", leased.map { Acknowledgement(leaseToken: $0.leaseToken) })
                #expect(results.allSatisfy { $0 == nil })
            } catch {
                await scratch.stop()
                throw error
            }
            await scratch.stop()
        }
    }
}
