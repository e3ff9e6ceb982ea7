import Foundation
import GatewayQueue
import GatewayQueueContract
import GatewayQueueSQLite
import Testing

/// A fresh directory under the system temp dir, removed by `remove()`.
struct TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("xgw-queue-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

@Suite("Queue contract: SQLite driver")
struct SQLiteContractTests {
    @Test(arguments: QueueContract.allCases)
    func contract(_ rule: QueueContract) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await rule.run { configuration in
            try SQLiteMessageQueue(path: directory.path("queue.sqlite"), configuration: configuration)
        }
    }
}
