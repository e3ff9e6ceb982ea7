import Foundation
import GatewayQueue
import GatewayQueuePostgres
import Testing

/// `xgw_enqueue` when two nodes enqueue the same keys at once: one node's insert waits for the
/// other's commit and skips the key; its answer must then name the envelope the other node stored
/// (read by a statement after the insert, which sees that commit), never fail or store twice.
/// Nested in the serialized "PostgreSQL driver" suite, since its multi-node test restarts the server.
extension PostgresQueueTests {
    @Suite
    struct PostgresEnqueueRaceTests {
        @Test func twoNodesEnqueuingTheSameKeysStoreEachOnceAndAgreeOnItsEnvelope() async throws {
            let first = try await ScratchQueue.make()
            let second = try await ScratchQueue.make(schema: first.queue.settings.schema)
            do {
                for round in 0..<10 {
                    let keys = (0..<20).map { "race-\(round)-\($0)" }
                    func items(_ node: String) -> [EnqueueItem] {
                        keys.map { key in
                            EnqueueItem(
                                envelopeId: "\(node)-\(key)", kind: "traffic-violation", recordId: key,
                                updatedAt: "2026-01-01T00:00:00Z", payloadDigest: "d-\(key)", destinations: ["pa", "pb"],
                                envelope: Array("body \(key)".utf8))
                        }
                    }
                    async let a = first.queue.enqueue(submitter: "renshi", items: items("a"))
                    async let b = second.queue.enqueue(submitter: "renshi", items: items("b"))
                    let (answersA, answersB) = try await (a, b)
                    for (index, key) in keys.enumerated() {
                        let (fromA, fromB) = (answersA[index], answersB[index])
                        #expect(fromA.duplicate != fromB.duplicate, "\(key): exactly one node stores it")
                        #expect(fromA.envelopeId == fromB.envelopeId, "\(key): both name the stored envelope")
                        #expect(fromA.destinations == ["pa", "pb"] && fromB.destinations == ["pa", "pb"])
                        let history = try await first.queue.history(envelopeId: fromA.envelopeId)
                        #expect(history.map(\.event) == [.queued, .queued], "\(key): one message per destination")
                    }
                }
            } catch {
                await second.stop(dropSchema: false)
                await first.stop()
                throw error
            }
            await second.stop(dropSchema: false)
            await first.stop()
        }
    }
}
