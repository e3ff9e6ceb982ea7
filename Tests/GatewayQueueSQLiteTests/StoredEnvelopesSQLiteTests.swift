import Foundation
import GatewayQueueContract
import GatewayQueueSQLite
import Testing

/// `storedEnvelopes(ids:)` on SQLite (one read, `id IN (…)` 100 ids a step): what a node receiving
/// a peer's batch looks up. Answers as `storedEnvelope(id:)` does, id by id (`StoredEnvelopesCheck`).
struct StoredEnvelopesSQLiteTests {
    @Test func oneQueryAnswersAsTheLookUpsOneByOne() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let problems = try await StoredEnvelopesCheck.problems(try SQLiteMessageQueue(path: directory.path("queue.sqlite")))
        #expect(problems.isEmpty, "\(problems)")
    }
}
