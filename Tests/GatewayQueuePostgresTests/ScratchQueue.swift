import Foundation
import Synchronization
import GatewayQueue
import GatewayQueueContract
import GatewayQueuePostgres
import Testing

/// The server the PostgreSQL tests run against (`.ci/run` starts one: `.ci/postgres.sh`).
let postgresURL = ProcessInfo.processInfo.environment["XGW_TEST_POSTGRES_URL"]

/// A queue in a schema of its own (`xgw_test_<random>`), running until `stop()`, which also drops
/// the schema: test cases run in parallel on one server without seeing each other's rows.
struct ScratchQueue {
    let queue: PostgresMessageQueue
    let task: Task<Void, Never>

    static func make(_ configuration: QueueConfiguration = QueueConfiguration(), schema: String? = nil) async throws -> ScratchQueue {
        var settings = try PostgresQueueSettings(url: try #require(postgresURL))
        settings.schema = schema ?? "xgw_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        settings.maximumConnections = 4
        let queue = PostgresMessageQueue(settings: settings, configuration: configuration)
        let task = Task { await queue.run() }
        try await queue.migrate()
        return ScratchQueue(queue: queue, task: task)
    }

    func stop(dropSchema: Bool = true) async {
        if dropSchema {
            try? await queue.dropSchema()
        }
        task.cancel()
        await task.value
    }
}

/// Collects the queues a contract case makes, to stop them afterwards.
final class ScratchQueues: Sendable {
    private let queues = Mutex<[ScratchQueue]>([])

    func make(_ configuration: QueueConfiguration) async throws -> any MessageQueue {
        let scratch = try await ScratchQueue.make(configuration)
        queues.withLock { $0.append(scratch) }
        return scratch.queue
    }

    func stopAll() async {
        for scratch in queues.withLock({ $0 }) { await scratch.stop() }
    }
}
