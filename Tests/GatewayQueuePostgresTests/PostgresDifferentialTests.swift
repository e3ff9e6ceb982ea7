import Foundation
import GatewayQueue
import GatewayQueueContract
import GatewayQueuePostgres
import Testing

extension PostgresQueueTests {
    /// Random operation sequences on the real server, each in a scratch schema, against the
    /// in-memory oracle (`QueueDifferential`): every answer, depth, dead letter, receipt and
    /// history entry must agree. In the serialized suite: the multi-node test restarts the server.
    @Test func agreesWithTheOracle() async {
        await QueueDifferential.check(count: 30) { configuration in
            let scratch = try await ScratchQueue.make(configuration)
            return (scratch.queue, { await scratch.stop() })
        }
    }
}
