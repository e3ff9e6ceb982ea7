import Foundation
import GatewayQueue
import PostgresNIO

/// The search read (`QueueStorage.searchHeaders`): one query, `MessageSearchSQL`, led by the
/// indexes of migration 3.
extension PostgresMessageQueue {
    public func searchHeaders(_ search: MessageSearch, before: MessageID?, limit: Int) async throws -> [MessageHeader] {
        let logger = logger
        let query = Self.searchQuery(search, before: before, limit: limit)
        return try await withConnection { connection in
            var headers: [MessageHeader] = []
            for try await row in try await connection.query(query, logger: logger) {
                let columns = row.makeRandomAccess()
                guard let state = DeliveryState(rawValue: try columns[8].decode(String.self)) else { continue }
                let outcome = try columns[13].decode(String?.self)
                headers.append(MessageHeader(
                    messageId: MessageID(try columns[0].decode(Int64.self)), envelopeId: try columns[1].decode(String.self),
                    destination: try columns[2].decode(String.self), submitter: try columns[3].decode(String.self),
                    kind: try columns[4].decode(String.self), recordId: try columns[5].decode(String.self),
                    updatedAt: try columns[6].decode(String.self), enqueuedAt: Self.date(try columns[7].decode(Int64.self)),
                    delivery: Delivery(
                        state: state, deliveryCount: try columns[9].decode(Int.self), availableAt: Self.date(try columns[10].decode(Int64.self)),
                        leaseExpiresAt: try columns[11].decode(Int64?.self).map(Self.date), lastError: try columns[12].decode(String?.self),
                        outcome: try outcome.flatMap { AckOutcome(name: $0, reason: try columns[14].decode(String?.self)) }),
                    ackedAt: try columns[15].decode(Int64?.self).map(Self.date), diedAt: try columns[16].decode(Int64?.self).map(Self.date)))
            }
            return headers
        }
    }

    /// The query with its binds (tests read its plan with EXPLAIN).
    static func searchQuery(_ search: MessageSearch, before: MessageID?, limit: Int) -> PostgresQuery {
        let query = MessageSearchSQL(search, before: before, limit: limit, placeholder: { "$\($0)" }, millis: Self.millis,
            walkJoin: "CROSS JOIN LATERAL (SELECT e.kind, e.enqueued_at FROM envelope e WHERE e.id = m.envelope_id OFFSET 0) e")
        var binds = PostgresBindings(capacity: query.values.count)
        for value in query.values {
            switch value {
            case .text(let text): binds.append(text)
            case .integer(let number): binds.append(number)
            }
        }
        return PostgresQuery(unsafeSQL: query.sql, binds: binds)
    }
}
