import Foundation
import GatewayQueue
import PostgresNIO

extension PostgresMessageQueue: StoredEnvelopesReading {
    /// One query: `id = ANY($1)` with the ids as one text array.
    public func storedEnvelopesInOneQuery(ids: [String]) async throws -> [String: StoredEnvelope] {
        let unique = Array(Set(ids))
        guard !unique.isEmpty else { return [:] }
        let logger = logger
        return try await withConnection { connection in
            var found: [String: StoredEnvelope] = [:]
            for try await (id, submitter, kind, recordId, updatedAt, digest, body, destinations) in try await connection.query("""
                SELECT id, submitter, kind, record_id, updated_at, payload_digest, body, destinations FROM envelope WHERE id = ANY(\(unique))
                """, logger: logger
            ).decode((String, String, String, String, String, String, ByteBuffer, String).self) {
                found[id] = StoredEnvelope(
                    submitter: submitter, kind: kind, recordId: recordId, updatedAt: updatedAt, payloadDigest: digest,
                    envelope: Array(body.readableBytesView), destinations: Self.split(destinations))
            }
            return found
        }
    }
}
