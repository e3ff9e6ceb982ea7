import Foundation
import GRDB
import GatewayQueue

/// The search read (`QueueStorage.searchHeaders`): one query, `MessageSearchSQL`, led by the
/// indexes of migration v4 (see `migrator`).
extension SQLiteMessageQueue {
    public func searchHeaders(_ search: MessageSearch, before: MessageID?, limit: Int) async throws -> [MessageHeader] {
        let query = Self.searchSQL(search, before: before, limit: limit)
        return try await read { db in
            try Row.fetchAll(db, sql: query.sql, arguments: query.arguments).compactMap { row in
                guard let state = DeliveryState(rawValue: row[8]) else { return nil }
                let leaseExpiresAt: Int64? = row[11], ackedAt: Int64? = row[15], outcome: String? = row[13], diedAt: Int64? = row[16]
                return MessageHeader(
                    messageId: MessageID(row[0]), envelopeId: row[1], destination: row[2], submitter: row[3], kind: row[4],
                    recordId: row[5], updatedAt: row[6], enqueuedAt: Self.date(row[7]),
                    delivery: Delivery(
                        state: state, deliveryCount: row[9], availableAt: Self.date(row[10]),
                        leaseExpiresAt: leaseExpiresAt.map(Self.date), lastError: row[12],
                        outcome: outcome.flatMap { AckOutcome(name: $0, reason: row[14]) }),
                    ackedAt: ackedAt.map(Self.date), diedAt: diedAt.map(Self.date))
            }
        }
    }

    /// The query and its arguments (tests read its plan with `queryPlan`).
    static func searchSQL(_ search: MessageSearch, before: MessageID?, limit: Int) -> (sql: String, arguments: StatementArguments) {
        let query = MessageSearchSQL(search, before: before, limit: limit, placeholder: { "?\($0)" }, millis: Self.millis,
            indexedBy: { " INDEXED BY \($0)" })
        let values: [any DatabaseValueConvertible] = query.values.map { value in
            switch value {
            case .text(let text): text
            case .integer(let number): number
            }
        }
        return (query.sql, StatementArguments(values))
    }
}
