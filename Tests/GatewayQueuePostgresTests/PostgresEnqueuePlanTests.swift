import Foundation
import GatewayQueue
@testable import GatewayQueuePostgres
import PostgresNIO
import Testing

/// An enqueue must not read the envelope table to answer (issue 18 item 2): migration 5's answer
/// was one cached statement whose generic plan, made while the table was empty, hashed every
/// envelope of the submitter on each call. Counted with the session's own table statistics
/// (`pg_stat_xact_user_tables`, this transaction's reads, exact and not flushed asynchronously)
/// on one connection that first enqueued while the table was empty, as a pooled connection does.
/// No timing. Nested in the serialized "PostgreSQL driver" suite, since its multi-node test
/// restarts the server.
extension PostgresQueueTests {
    @Suite
    struct PostgresEnqueuePlanTests {
        static func item(_ key: String) -> EnqueueItem {
            EnqueueItem(
                envelopeId: "plan-\(key)", kind: "traffic-violation", recordId: "r-\(key)", updatedAt: "2026-01-01T00:00:00Z",
                payloadDigest: "d-\(key)", destinations: ["xinsheng"], envelope: Array("body \(key)".utf8))
        }

        /// Envelope rows read (fetched by index or read sequentially) by one `xgw_enqueue_rows`
        /// of `items` on `connection`, in a transaction rolled back afterwards.
        static func envelopeRowsRead(_ connection: PostgresConnection, _ items: [EnqueueItem]) async throws -> Int64 {
            try await connection.query("BEGIN", logger: connection.logger)
            for try await _ in try await connection.execute(
                EnqueueRows(submitter: "renshi", atMillis: 1, items), logger: connection.logger) {}
            var read: Int64 = -1
            for try await (fetched, scanned) in try await connection.query("""
                SELECT coalesce(idx_tup_fetch, 0), coalesce(seq_tup_read, 0) FROM pg_stat_xact_user_tables
                WHERE relname = 'envelope' AND schemaname = current_schema()
                """, logger: connection.logger
            ).decode((Int64, Int64).self) {
                read = fetched + scanned
            }
            try await connection.query("ROLLBACK", logger: connection.logger)
            return read
        }

        @Test func anEnqueueReadsAboutOneEnvelopeRowPerDuplicateWhateverTheTableHolds() async throws {
            let scratch = try await ScratchQueue.make()
            do {
                try await scratch.queue.client.withConnection { connection in
                    // Plans made while the table is empty (a cached plan becomes generic after five calls).
                    for n in 0..<10 {
                        for try await _ in try await connection.execute(
                            EnqueueRows(submitter: "renshi", atMillis: 1, [Self.item("early-\(n)")]), logger: connection.logger) {}
                    }
                    _ = try await scratch.queue.enqueue(submitter: "renshi", items: (0..<3_000).map { Self.item("bulk-\($0)") })
                    let fresh = try await Self.envelopeRowsRead(connection, [Self.item("new")])
                    #expect(fresh >= 0 && fresh <= 30, "a new envelope read \(fresh) envelope rows")
                    let duplicates = try await Self.envelopeRowsRead(connection, (0..<3).map { Self.item("bulk-\($0)") } + [Self.item("new")])
                    #expect(duplicates >= 3 && duplicates <= 60, "three duplicates and a new envelope read \(duplicates) envelope rows")
                }
            } catch {
                await scratch.stop()
                throw error
            }
            await scratch.stop()
        }
    }
}
