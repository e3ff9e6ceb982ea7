import Foundation
import GatewayQueue
import Logging
import PostgresNIO

/// `QueueStorage`: the selections and the writes of decided transitions; the decisions are
/// `QueueDecision`'s (`QueueStorage+Operations`).
extension PostgresMessageQueue {
    public func update<Output: Sendable>(at now: Date, first: QueueStep<Int>?, _ step: QueueStep<Output>) async throws -> Output {
        let logger = logger
        return try await transaction { connection in
            if case .leasable(let participant, _) = step.selection {
                // Lessees of one destination take turns (see the type's documentation).
                try await connection.query(
                    "SELECT pg_advisory_xact_lock(hashtextextended(\("xgw.lease:" + participant), 0))", logger: logger)
            }
            if let first { _ = try await Self.run(first, connection, now: now, logger: logger) }
            return try await Self.run(step, connection, now: now, logger: logger)
        }
    }

    public func select(_ selection: QueueSelection, at now: Date) async throws -> [StoredMessage] {
        let logger = logger
        return try await withConnection { connection in
            try await Self.rows(connection, selection, now: now, forUpdate: false, logger: logger)
        }
    }

    public func counts(at now: Date) async throws -> QueueCounts {
        let nowMillis = Self.millis(now)
        let logger = logger
        return try await withConnection { connection in
            var counts = QueueCounts()
            for try await (destination, state, count) in try await connection.query(
                "SELECT destination, state, count(*) FROM message GROUP BY destination, state", logger: logger
            ).decode((String, String, Int).self) {
                guard let state = DeliveryState(rawValue: state) else { continue }
                counts.states[QueueCounts.Key(destination: destination, state: state)] = count
            }
            for try await (destination, deliveryCount, count) in try await connection.query("""
                SELECT destination, delivery_count, count(*) FROM message
                WHERE state = 'leased' AND lease_expires_at <= \(nowMillis) GROUP BY destination, delivery_count
                """, logger: logger
            ).decode((String, Int, Int).self) {
                counts.expired[QueueCounts.Key(destination: destination, state: .leased, deliveryCount: deliveryCount)] = count
            }
            return counts
        }
    }

    public func stored(_ date: Date) -> Date { Self.date(Self.millis(date)) }

    /// Selects a step's rows (locked until the transaction ends), decides and writes the result.
    private static func run<Output>(
        _ step: QueueStep<Output>, _ connection: PostgresConnection, now: Date, logger: Logger
    ) async throws -> Output {
        let (transitions, output) = try step.decide(try await rows(connection, step.selection, now: now, forUpdate: true, logger: logger))
        try await store(connection, transitions, logger: logger)
        return output
    }

    /// Columns 0…9 of every selected row (`message(_:content:)`): the delivery state and the destination.
    static let messageColumns =
        ["id", "state", "delivery_count", "available_at", "lease_token", "lease_expires_at", "last_error", "outcome", "reason",
         "destination"].map { "m.\($0)" }.joined(separator: ", ")

    /// `messageColumns` and columns 10…16 with the envelope (message `m` joined with envelope `e`).
    static let contentColumns =
        messageColumns + ", m.envelope_id, m.submitter, m.record_id, m.updated_at, e.kind, e.payload_digest, e.body"

    /// The rows of a selection (`QueueSelection`); in a transaction (`forUpdate`) they stay locked
    /// until it ends, and rows another node is settling are skipped rather than waited for where
    /// the selection allows it (expired leases, leasable messages).
    private static func rows(
        _ connection: PostgresConnection, _ selection: QueueSelection, now: Date, forUpdate: Bool, logger: Logger
    ) async throws -> [StoredMessage] {
        let nowMillis = millis(now)
        let lock = forUpdate ? "FOR UPDATE OF m" : ""
        let query: PostgresQuery
        var content = false
        switch selection {
        case .expiredLeases(let participant?):
            query = """
                SELECT \(unescaped: messageColumns) FROM message m
                WHERE m.destination = \(participant) AND m.state = 'leased' AND m.lease_expires_at <= \(nowMillis)
                ORDER BY m.id \(unescaped: lock) SKIP LOCKED
                """
        case .expiredLeases(nil):
            query = """
                SELECT \(unescaped: messageColumns) FROM message m
                WHERE m.state = 'leased' AND m.lease_expires_at <= \(nowMillis)
                ORDER BY m.id \(unescaped: lock) SKIP LOCKED
                """
        case .leasable(let participant, let max):
            // The FIFO-group rule of `LeaseSelection` in SQL (see SQLiteMessageQueue.leaseSQL).
            content = true
            query = """
                SELECT \(unescaped: contentColumns)
                FROM message m JOIN envelope e ON e.id = m.envelope_id
                WHERE m.destination = \(participant) AND m.state = 'queued' AND m.available_at <= \(nowMillis)
                  AND NOT EXISTS (
                    SELECT 1 FROM message p
                    WHERE p.destination = m.destination AND p.record_id = m.record_id AND p.state IN ('queued', 'leased')
                      AND (p.state = 'leased' OR p.updated_at < m.updated_at
                           OR (p.updated_at = m.updated_at AND p.id < m.id)))
                ORDER BY m.available_at, m.id
                LIMIT \(max)
                \(unescaped: lock) SKIP LOCKED
                """
        case .leaseHolders(let participant, let tokens) where forUpdate:
            query = """
                SELECT \(unescaped: messageColumns) FROM message m
                WHERE m.lease_token = ANY(\(tokens.map(\.rawValue))) AND m.destination = \(participant) FOR UPDATE
                """
        case .leaseHolders(let participant, let tokens):
            content = true
            query = """
                SELECT \(unescaped: contentColumns) FROM message m JOIN envelope e ON e.id = m.envelope_id
                WHERE m.lease_token = ANY(\(tokens.map(\.rawValue))) AND m.destination = \(participant)
                """
        case .message(let id):
            query = "SELECT \(unescaped: messageColumns) FROM message m WHERE m.id = \(id.rawValue) \(unescaped: lock)"
        }
        var rows: [StoredMessage] = []
        for try await row in try await connection.query(query, logger: logger) {
            rows.append(try message(row, content: content))
        }
        return rows
    }

    /// The message in a row of `messageColumns` (or `contentColumns`).
    private static func message(_ row: PostgresRow, content: Bool) throws -> StoredMessage {
        let columns = row.makeRandomAccess()
        let outcome = try columns[7].decode(String?.self)
        let reason = try columns[8].decode(String?.self)
        let delivery = Delivery(
            state: DeliveryState(rawValue: try columns[1].decode(String.self)) ?? .queued,
            deliveryCount: try columns[2].decode(Int.self),
            availableAt: date(try columns[3].decode(Int64.self)),
            leaseToken: try columns[4].decode(String?.self).map(LeaseToken.init),
            leaseExpiresAt: try columns[5].decode(Int64?.self).map(date),
            lastError: try columns[6].decode(String?.self),
            outcome: outcome.flatMap { AckOutcome(name: $0, reason: reason) })
        var stored = StoredMessage(
            id: MessageID(try columns[0].decode(Int64.self)), destination: try columns[9].decode(String.self), delivery: delivery)
        if content {
            var body = try columns[16].decode(ByteBuffer.self)
            stored.content = StoredMessage.Content(
                envelopeId: try columns[10].decode(String.self), submitter: try columns[11].decode(String.self),
                kind: try columns[14].decode(String.self), recordId: try columns[12].decode(String.self),
                updatedAt: try columns[13].decode(String.self), payloadDigest: try columns[15].decode(String.self),
                envelope: body.readBytes(length: body.readableBytes) ?? [])
        }
        return stored
    }

    /// Writes decided transitions and their history in one statement.
    private static func store(_ connection: PostgresConnection, _ transitions: [Transition], logger: Logger) async throws {
        guard !transitions.isEmpty else { return }
        let rows = transitions.map(DeliveryRow.init)
        let deliveries = try json(rows)
        let history = try json(rows.flatMap(\.history))
        try await connection.query("""
            WITH u AS (
              SELECT * FROM jsonb_to_recordset(\(deliveries)::jsonb) AS u(
                id bigint, state text, delivery_count int, available_at bigint, lease_token text, lease_expires_at bigint,
                last_error text, outcome text, reason text, died_at bigint, acked boolean, receipt text, at bigint)
            ), updated AS (
              UPDATE message m SET state = u.state, delivery_count = u.delivery_count, available_at = u.available_at,
                lease_token = u.lease_token, lease_expires_at = u.lease_expires_at, last_error = u.last_error,
                outcome = u.outcome, reason = u.reason, died_at = u.died_at,
                receipt = CASE WHEN u.acked THEN decode(u.receipt, 'base64') ELSE m.receipt END,
                acked_at = CASE WHEN u.acked THEN u.at ELSE m.acked_at END
              FROM u WHERE m.id = u.id
              RETURNING m.id
            )
            INSERT INTO history (message_id, at, event, delivery_count, detail)
            SELECT h.message_id, h.at, h.event, h.delivery_count, h.detail
            FROM ROWS FROM (jsonb_to_recordset(\(history)::jsonb)
                   AS (message_id bigint, at bigint, event text, delivery_count int, detail text))
                 WITH ORDINALITY AS h(message_id, at, event, delivery_count, detail, n)
            ORDER BY h.n
            """, logger: logger)
    }
}

// MARK: - Rows passed as JSON

private struct HistoryRow: Encodable {
    var message_id: Int64
    var at: Int64
    var event: String
    var delivery_count: Int
    var detail: String?
}

/// A transition as the update in `store` reads it: the new delivery state (for an ack, its
/// receipt and time) with the history it produced.
private struct DeliveryRow: Encodable {
    var id: Int64
    var state: String
    var delivery_count: Int
    var available_at: Int64
    var lease_token: String?
    var lease_expires_at: Int64?
    var last_error: String?
    var outcome: String?
    var reason: String?
    var died_at: Int64?
    var acked: Bool
    var receipt: String?
    var at: Int64
    var history: [HistoryRow]

    init(_ transition: Transition) {
        let delivery = transition.delivery
        id = transition.id.rawValue
        state = delivery.state.rawValue
        delivery_count = delivery.deliveryCount
        available_at = PostgresMessageQueue.millis(delivery.availableAt)
        lease_token = delivery.leaseToken?.rawValue
        lease_expires_at = delivery.leaseExpiresAt.map(PostgresMessageQueue.millis)
        last_error = delivery.lastError
        outcome = delivery.outcome?.name
        reason = delivery.outcome?.reason
        died_at = transition.diedAt.map(PostgresMessageQueue.millis)
        acked = delivery.state == .acked
        receipt = transition.receipt.map { Data($0).base64EncodedString() }
        let at = PostgresMessageQueue.millis(transition.at)
        self.at = at
        history = transition.changes.map {
            HistoryRow(message_id: transition.id.rawValue, at: at, event: $0.event.rawValue, delivery_count: $0.deliveryCount, detail: $0.detail)
        }
    }
}
