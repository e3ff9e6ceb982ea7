import Foundation
import GatewayQueue
import PostgresNIO

/// The inbox read (`QueueStorage.headers`).
extension PostgresMessageQueue {
    public func headers(destination: String, states: Set<DeliveryState>, after: MessageID?, limit: Int) async throws -> [MessageHeader] {
        let logger = logger
        let wanted = states.map(\.rawValue).sorted()
        let after = after?.rawValue ?? 0
        return try await withConnection { connection in
            var headers: [MessageHeader] = []
            for try await row in try await connection.query("""
                SELECT m.id, m.envelope_id, m.submitter, e.kind, m.record_id, m.updated_at, e.enqueued_at, m.state,
                       m.delivery_count, m.available_at, m.lease_expires_at, m.last_error
                FROM message m JOIN envelope e ON e.id = m.envelope_id
                WHERE m.destination = \(destination) AND m.state = ANY(\(wanted)) AND m.id > \(after)
                ORDER BY m.id LIMIT \(limit)
                """, logger: logger
            ) {
                let columns = row.makeRandomAccess()
                guard let state = DeliveryState(rawValue: try columns[7].decode(String.self)) else { continue }
                headers.append(MessageHeader(
                    messageId: MessageID(try columns[0].decode(Int64.self)), envelopeId: try columns[1].decode(String.self),
                    destination: destination, submitter: try columns[2].decode(String.self), kind: try columns[3].decode(String.self),
                    recordId: try columns[4].decode(String.self), updatedAt: try columns[5].decode(String.self),
                    enqueuedAt: Self.date(try columns[6].decode(Int64.self)),
                    delivery: Delivery(
                        state: state, deliveryCount: try columns[8].decode(Int.self), availableAt: Self.date(try columns[9].decode(Int64.self)),
                        leaseExpiresAt: try columns[10].decode(Int64?.self).map(Self.date), lastError: try columns[11].decode(String?.self))))
            }
            return headers
        }
    }
}
