import Foundation
import GatewayQueueContract
import GatewayQueuePostgres
import Testing

/// `storedEnvelopes(ids:)` on PostgreSQL (one query, `id = ANY($1)`): what a node receiving a
/// peer's batch looks up. Answers as `storedEnvelope(id:)` does, id by id (`StoredEnvelopesCheck`).
@Suite(.enabled(if: postgresURL != nil, "XGW_TEST_POSTGRES_URL is not set: no PostgreSQL server to test against (.ci/run starts one)"))
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
