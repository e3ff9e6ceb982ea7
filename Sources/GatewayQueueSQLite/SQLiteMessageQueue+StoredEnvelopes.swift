import Foundation
import GatewayQueue

extension SQLiteMessageQueue: StoredEnvelopesReading {
    /// One read: `id IN (?, …)` with `chunk` ids per step (the last chunk's unused parameters
    /// NULL, which match nothing), so that one cached statement serves every batch size.
    public func storedEnvelopesInOneQuery(ids: [String]) async throws -> [String: StoredEnvelope] {
        let unique = Array(Set(ids))
        guard !unique.isEmpty else { return [:] }
        return try await read { db in
            var found: [String: StoredEnvelope] = [:]
            let select = try RawStatement(db, """
                SELECT id, submitter, kind, record_id, updated_at, payload_digest, body, destinations FROM envelope
                WHERE id IN (\(Array(repeating: "?", count: Self.lookUpChunk).joined(separator: ",")))
                """)
            for start in stride(from: 0, to: unique.count, by: Self.lookUpChunk) {
                for offset in 0..<Self.lookUpChunk {
                    let index = start + offset
                    select.bind(Int32(offset + 1), index < unique.count ? unique[index] : nil)
                }
                while try select.step() {
                    found[select.text(0)] = StoredEnvelope(
                        submitter: select.text(1), kind: select.text(2), recordId: select.text(3), updatedAt: select.text(4),
                        payloadDigest: select.text(5), envelope: select.bytes(6), destinations: Self.splitDestinations(select.text(7)))
                }
                select.reset()
            }
            return found
        }
    }

    /// Ids per step of `storedEnvelopesInOneQuery`.
    static let lookUpChunk = 100
}
