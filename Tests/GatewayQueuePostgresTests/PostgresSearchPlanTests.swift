import Foundation
import GatewayQueue
@testable import GatewayQueuePostgres
import PostgresNIO
import Testing

/// The message search (`MessageQueue.search`, the console's browser) must read about a page's rows
/// whatever the queue holds: checked on the real plan (`EXPLAIN (ANALYZE, FORMAT JSON)`) of each
/// filter's statement with 2,000 and 20,000 messages (mostly acked, as a live queue is), analysed
/// tables: the rows each plan reads or drops must not grow with the queue. No timing (the figures
/// are `xgw bench search`'s). Nested in the serialized "PostgreSQL driver" suite, since its
/// multi-node test restarts the server.
extension PostgresQueueTests {
    @Suite(
        "PostgreSQL message search plan",
        .serialized,
        .enabled(if: postgresURL != nil, "XGW_TEST_POSTGRES_URL is not set: no PostgreSQL server to test against (.ci/run starts one)")
    )
    struct PostgresSearchPlanTests {
        typealias Plans = PostgresQueueTests.PostgresLeasePlanTests

        /// Documents of 10 messages, one every ten minutes, from ten participants to the next one; all acked
        /// but the last 100 (queued) and one in a thousand (dead).
        static func fill(_ queue: PostgresMessageQueue, clock: ManualQueueClock, from: Int, to: Int) async throws {
            for start in stride(from: from, to: to, by: 10) {
                let submitter = "p\(start / 10 % 10)", destination = "p\((start / 10 + 1) % 10)"
                _ = try await queue.enqueue(submitter: submitter, items: (start..<start + 10).map { n in
                    EnqueueItem(
                        envelopeId: "s-e-\(n)", kind: n % 3 == 0 ? "bulletin" : "traffic-violation", recordId: "s-r-\(n)",
                        updatedAt: "2026-01-01T00:00:00Z", payloadDigest: "d\(n)", destinations: [destination],
                        envelope: Array(repeating: UInt8(ascii: "x"), count: 64))
                })
                clock.advance(by: 600)
            }
            for participant in (0..<10).map({ "p\($0)" }) {
                while true {
                    let leased = try await queue.lease(participant: participant, max: 500, visibility: 600)
                    let settle = leased.filter { Int($0.envelopeId.dropFirst(4))! < to - 100 }
                    if settle.isEmpty { break }
                    for message in settle where Int(message.envelopeId.dropFirst(4))! % 1000 == 7 {
                        try await queue.deadLetter(participant: participant, leaseToken: message.leaseToken, reason: "plan")
                    }
                    let acks = settle.filter { Int($0.envelopeId.dropFirst(4))! % 1000 != 7 }
                    _ = try await queue.ack(participant: participant, acks.map { Acknowledgement(leaseToken: $0.leaseToken, outcome: .accepted) })
                    for message in leased where !settle.contains(message) {
                        try await queue.nack(participant: participant, leaseToken: message.leaseToken, error: "later")
                    }
                    if settle.count < leased.count { break }
                }
            }
            // VACUUM as autovacuum would on a live queue: until then the partial index of unsettled
            // messages still holds the entries of every message settled since (each was queued
            // once), and a state search reads them all (19,148 of 20,000 in a fresh-clone CI run,
            // where autovacuum had not come by).
            _ = try await queue.withConnection { connection in
                try await connection.query("VACUUM ANALYZE", logger: queue.logger)
                return true
            }
        }

        static func touched(_ queue: PostgresMessageQueue, _ search: MessageSearch, before: MessageID? = nil) async throws -> (Double, String) {
            var stored = search
            stored.states = search.storedStates
            let plan = try await Plans.explain(queue, PostgresMessageQueue.searchQuery(stored, before: before, limit: 50))
            return (Plans.rowsTouched(plan), Plans.shape(plan))
        }

        @Test func eachFilterReadsAboutAPageWith2000Or20000Messages() async throws {
            let clock = ManualQueueClock()
            let scratch = try await ScratchQueue.make(QueueConfiguration(clock: clock))
            do {
                let queue = scratch.queue
                // Autovacuum off for these tables, so that whether it came by before the EXPLAIN
                // cannot decide the outcome: `fill` vacuums, as autovacuum does on a live queue.
                _ = try await queue.withConnection { connection in
                    try await connection.query("ALTER TABLE message SET (autovacuum_enabled = off)", logger: queue.logger)
                    try await connection.query("ALTER TABLE envelope SET (autovacuum_enabled = off)", logger: queue.logger)
                    return true
                }
                let start = clock.now()
                var touched: [Int: [Double]] = [:]
                var shapes: [String] = []
                var filled = 0
                for size in [2_000, 20_000] {
                    try await Self.fill(queue, clock: clock, from: filled, to: size)
                    filled = size
                    // The middle of what was enqueued, and windows of two hours (120 messages) around it.
                    let middle = start.addingTimeInterval(Double(size / 20 * 600))
                    let searches = [
                        MessageSearch(),
                        MessageSearch(envelopeId: "s-e-\(size / 2)"),
                        MessageSearch(recordId: "s-r-\(size / 3)", participant: "p3"),
                        MessageSearch(participant: "p3", kind: "bulletin"),
                        MessageSearch(visibleTo: "p4", kind: "traffic-violation", states: [.acked]),
                        MessageSearch(states: [.dead]),
                        MessageSearch(states: [.queued, .leased]),
                        MessageSearch(enqueuedFrom: middle.addingTimeInterval(-3600), enqueuedTo: middle.addingTimeInterval(3600)),
                        MessageSearch(participant: "p5", kind: "bulletin", enqueuedFrom: middle, enqueuedTo: middle.addingTimeInterval(7200)),
                    ]
                    for search in searches {
                        let (rows, shape) = try await Self.touched(queue, search)
                        touched[size, default: []].append(rows)
                        shapes.append("\(size) \(search): \(Int(rows)) rows\n\(shape)")
                    }
                }
                let small = try #require(touched[2_000]), large = try #require(touched[20_000])
                for index in small.indices {
                    // Ten times the messages: about the same rows (a time window's bounds are found
                    // `enqueueOrderSlack` = 600 s beyond it: one document here).
                    #expect(large[index] <= small[index] * 2 + 300 || large[index] <= 1_000,
                        "search \(index) reads \(Int(small[index])) rows of 2,000, \(Int(large[index])) of 20,000:\n\(shapes.joined(separator: "\n\n"))")
                }
            } catch {
                await scratch.stop()
                throw error
            }
            await scratch.stop()
        }
    }
}
