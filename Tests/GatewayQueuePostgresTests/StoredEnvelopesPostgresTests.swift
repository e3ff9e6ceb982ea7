import Foundation
import GatewayQueueContract
import GatewayQueuePostgres
import Testing

/// `storedEnvelopes(ids:)` on PostgreSQL (one query, `id = ANY($1)`): what a node receiving a
/// peer's batch looks up. Answers as `storedEnvelope(id:)` does, id by id (`StoredEnvelopesCheck`).
/// Nested in the serialized "PostgreSQL driver" suite, since its multi-node test restarts the server.
extension PostgresQueueTests {
    @Suite
    struct StoredEnvelopesPostgresTests {
        @Test func oneQueryAnswersAsTheLookUpsOneByOne() async throws {
            let scratch = try await ScratchQueue.make()
            let problems: [String]
            do {
                problems = try await StoredEnvelopesCheck.problems(scratch.queue)
            } catch {
                await scratch.stop()
                throw error
            }
            await scratch.stop()
            #expect(problems.isEmpty, "\(problems)")
        }
    }
}
