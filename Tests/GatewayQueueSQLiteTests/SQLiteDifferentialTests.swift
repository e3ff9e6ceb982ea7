import Foundation
import GatewayQueue
import GatewayQueueContract
import GatewayQueueSQLite
import Testing

/// Random operation sequences on a real SQLite file against the in-memory oracle
/// (`QueueDifferential`): every answer, depth, dead letter, receipt and history entry must agree.
@Suite("Queue differential: SQLite driver")
struct SQLiteDifferentialTests {
    @Test func agreesWithTheOracle() async {
        await QueueDifferential.check(count: 60) { configuration in
            let directory = try TemporaryDirectory()
            // Durability is the crash test's business: without an fsync per commit the sequences run fast.
            let queue = try SQLiteMessageQueue(
                path: directory.path("queue.sqlite"), configuration: configuration, synchronous: .normal)
            return (queue, { directory.remove() })
        }
    }
}
