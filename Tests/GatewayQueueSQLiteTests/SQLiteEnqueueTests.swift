import Foundation
import GatewayQueue
import GatewayQueueContract
@testable import GatewayQueueSQLite
import Testing

/// `enqueue` stores a document with multi-row INSERTs cut into power-of-two chunks
/// (`SQLiteMessageQueue+Enqueue`): its answers, its messages and their order must be those of the
/// in-memory queue (the contract's oracle) at every chunk boundary, with duplicates and a known
/// envelope inside a chunk.
@Suite("SQLite enqueue in multi-row statements")
struct SQLiteEnqueueTests {
    @Test func chunksArePowersOfTwoCoveringTheBatch() {
        for n in 0...600 {
            let chunks = SQLiteMessageQueue.chunks(n)
            #expect(chunks.map(\.count).reduce(0, +) == n)
            #expect(zip(chunks, chunks.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound && $0.count >= $1.count })
            #expect(chunks.allSatisfy { $0.count.nonzeroBitCount == 1 && $0.count <= SQLiteMessageQueue.rowsPerStatement })
        }
        #expect(SQLiteMessageQueue.chunks(100).map(\.count) == [64, 32, 4])
    }

    /// A document of `size` items with every kind of item a chunk can hold, after a first document
    /// stored: new ones (one to three destinations), one whose key the first document stored,
    /// the first document's own envelopes again (each once: a document names an envelope once), and items repeating the key of an earlier item of
    /// this document (the one 17 before, and the one 65 before: often in an earlier chunk).
    static func document(size: Int, stored: [EnqueueItem]) -> [EnqueueItem] {
        (0..<size).map { i in
            switch i % 23 {
            case 5: contractItem(recordId: stored[i % stored.count].recordId, to: ["b"])
            case 11 where i / 23 < stored.count: stored[i / 23]
            case 17: contractItem(recordId: "n\(i - 17)", to: ["x"])
            case 19: contractItem(recordId: "n\(i >= 65 ? i - 65 : i - 19)", to: ["x"])
            default:
                contractItem(recordId: "n\(i)", to: Array(["b", "c", "d"].prefix(1 + i % 3)), envelopeId: "e\(i)")
            }
        }
    }

    @Test(arguments: [1, 2, 3, 23, 64, 100, 129, 300])
    func answersAndMessagesMatchTheInMemoryQueue(size: Int) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let sqlite = try SQLiteMessageQueue(path: directory.path("queue.sqlite"))
        let memory = InMemoryMessageQueue()
        let first = (0..<7).map { contractItem(recordId: "s\($0)", to: ["b", "c"]) }
        let document = Self.document(size: size, stored: first)
        var answers: [[EnqueuedItem]] = []
        for queue in [sqlite, memory] as [any MessageQueue] {
            _ = try await queue.enqueue(submitter: "a", items: first)
            answers.append(try await queue.enqueue(submitter: "a", items: document))
        }
        #expect(answers[0] == answers[1])
        #expect(answers[0].filter(\.duplicate).count == document.indices.filter { [5, 17, 19].contains($0 % 23) || ($0 % 23 == 11 && $0 / 23 < first.count) }.count)
        for participant in ["b", "c", "d", "x"] {
            let fromSQLite = try await sqlite.lease(participant: participant, max: 1000, visibility: 30)
            let fromMemory = try await memory.lease(participant: participant, max: 1000, visibility: 30)
            #expect(fromSQLite.map(\.envelopeId) == fromMemory.map(\.envelopeId), "participant \(participant)")
            #expect(fromSQLite.map(\.envelope) == fromMemory.map(\.envelope))
        }
    }

    /// An envelope id stored under another key, anywhere in a chunk, refuses the whole document:
    /// nothing of it is stored, not even the chunks before it.
    @Test(arguments: [0, 63, 64, 99])
    func aKnownIdUnderAnotherKeyStoresNothing(position: Int) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let queue = try SQLiteMessageQueue(path: directory.path("queue.sqlite"))
        let taken = contractItem(recordId: "taken", to: ["b"])
        _ = try await queue.enqueue(submitter: "a", items: [taken])
        var document = (0..<100).map { contractItem(recordId: "r\($0)", to: ["b"]) }
        document[position] = contractItem(recordId: "clash", to: ["b"], envelopeId: taken.envelopeId)
        await #expect {
            _ = try await queue.enqueue(submitter: "a", items: document)
        } throws: { error in
            (error as? QueueError)?.code == .conflict
        }
        #expect(try await queue.lease(participant: "b", max: 1000, visibility: 30).map(\.envelopeId) == [taken.envelopeId])
    }
}
