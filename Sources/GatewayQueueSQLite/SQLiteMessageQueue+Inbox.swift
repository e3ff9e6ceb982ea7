import Foundation
import GRDB
import GatewayQueue

/// The inbox read (`QueueStorage.headers`): the ids come from the partial indexes of the pending
/// (`message_group`) and dead (`message_dead`) messages of the destination, so a page costs what
/// the destination holds unsettled, never a walk over the acked messages.
extension SQLiteMessageQueue {
    public func headers(destination: String, states: Set<DeliveryState>, after: MessageID?, limit: Int) async throws -> [MessageHeader] {
        var parts: [String] = []
        let pending = states.intersection([.queued, .leased])
        if !pending.isEmpty {
            parts.append("""
                SELECT id FROM message INDEXED BY message_group
                WHERE destination = ?1 AND state IN ('queued', 'leased') AND id > ?2
                """)
        }
        if states.contains(.dead) {
            parts.append("SELECT id FROM message INDEXED BY message_dead WHERE destination = ?1 AND state = 'dead' AND id > ?2")
        }
        if states.contains(.acked) {
            parts.append("SELECT id FROM message WHERE destination = ?1 AND state = 'acked' AND id > ?2")
        }
        guard !parts.isEmpty else { return [] }
        let wanted = states.map { "'\($0.rawValue)'" }.sorted().joined(separator: ", ")
        let sql = """
            SELECT m.id, m.envelope_id, m.submitter, e.kind, m.record_id, m.updated_at, e.enqueued_at, m.state,
                   m.delivery_count, m.available_at, m.lease_expires_at, m.last_error
            FROM message m JOIN envelope e ON e.id = m.envelope_id
            WHERE m.id IN (\(parts.joined(separator: " UNION ALL "))) AND m.state IN (\(wanted))
            ORDER BY m.id LIMIT ?3
            """
        let arguments: StatementArguments = [destination, after?.rawValue ?? 0, limit]
        return try await read { db in
            try Row.fetchAll(db, sql: sql, arguments: arguments).compactMap { row in
                guard let state = DeliveryState(rawValue: row[7]) else { return nil }
                let leaseExpiresAt: Int64? = row[10]
                return MessageHeader(
                    messageId: MessageID(row[0]), envelopeId: row[1], destination: destination, submitter: row[2], kind: row[3],
                    recordId: row[4], updatedAt: row[5], enqueuedAt: Self.date(row[6]),
                    delivery: Delivery(
                        state: state, deliveryCount: row[8], availableAt: Self.date(row[9]),
                        leaseExpiresAt: leaseExpiresAt.map(Self.date), lastError: row[11]))
            }
        }
    }
}
