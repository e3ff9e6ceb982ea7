import Foundation

/// A queue that reads the stored envelopes of many ids in one query (SQLite, PostgreSQL): what a
/// node receiving a batch from a peer needs for its duplicate checks (`storedEnvelopes(ids:)`).
public protocol StoredEnvelopesReading: MessageQueue {
    /// The envelope stored under each of `ids` that has one, by id, in one query.
    func storedEnvelopesInOneQuery(ids: [String]) async throws -> [String: StoredEnvelope]
}

extension MessageQueue {
    /// The envelope stored under each of `ids` that has one (as `storedEnvelope(id:)` answers it),
    /// by id: one query on a queue that can (`StoredEnvelopesReading`), else one look-up per id.
    public func storedEnvelopes(ids: [String]) async throws -> [String: StoredEnvelope] {
        if let batch = self as? any StoredEnvelopesReading { return try await batch.storedEnvelopesInOneQuery(ids: ids) }
        var found: [String: StoredEnvelope] = [:]
        for id in Set(ids) {
            if let stored = try await storedEnvelope(id: id) { found[id] = stored }
        }
        return found
    }
}
