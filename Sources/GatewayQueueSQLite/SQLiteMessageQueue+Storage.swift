import Foundation
import GRDB
import GatewayQueue

/// `QueueStorage`: the selections and the writes of decided transitions; the decisions are
/// `QueueDecision`'s (`QueueStorage+Operations`).
extension SQLiteMessageQueue {
    public func update<Output: Sendable>(at now: Date, first: QueueStep<Int>?, _ step: QueueStep<Output>) async throws -> Output {
        try await groupWrite { db in
            if let first { try Self.run(first, db, now: now) }
            return try Self.run(step, db, now: now)
        }
    }

    public func update<Before: Sendable, Output: Sendable>(
        at now: Date, before: QueueStep<Before>, first: QueueStep<Int>?, _ step: QueueStep<Output>
    ) async throws -> (Before, Output) {
        try await groupWrite { db in
            let output = try Self.run(before, db, now: now)
            if let first { try Self.run(first, db, now: now) }
            return (output, try Self.run(step, db, now: now))
        }
    }

    public func select(_ selection: QueueSelection, at now: Date) async throws -> [StoredMessage] {
        try await read { db in try Self.rows(db, selection, now: now, content: true) }
    }

    public func counts(at now: Date) async throws -> QueueCounts {
        try await read { db in
            var counts = QueueCounts()
            for row in try Row.fetchAll(db, sql: "SELECT destination, state, count(*) FROM message GROUP BY destination, state") {
                guard let state = DeliveryState(rawValue: row[1]) else { continue }
                counts.states[QueueCounts.Key(destination: row[0], state: state)] = row[2]
            }
            for row in try Row.fetchAll(db, sql: """
                SELECT destination, delivery_count, count(*) FROM message INDEXED BY message_leased
                WHERE state = 'leased' AND lease_expires_at <= ? GROUP BY destination, delivery_count
                """, arguments: [Self.millis(now)]) {
                counts.expired[QueueCounts.Key(destination: row[0], state: .leased, deliveryCount: row[1])] = row[2]
            }
            return counts
        }
    }

    public func stored(_ date: Date) -> Date { Self.date(Self.millis(date)) }

    /// Selects a step's rows, decides and writes the transitions decided.
    @discardableResult
    private static func run<Output>(_ step: QueueStep<Output>, _ db: Database, now: Date) throws -> Output {
        // Read the whole selection first: the writes change the indexes it walks.
        let (transitions, output) = try step.decide(rows(db, step.selection, now: now, content: false))
        try write(db, transitions)
        return output
    }

    /// The FIFO-group rule of `LeaseSelection` in SQL: queued, available messages of the
    /// destination (`message_ready`) with no pending message of their group before them and none
    /// of their group leased (`message_group`), and at an outbox no dead one before them either
    /// (`message_dead_group`). Arguments: destination, now (ms), max, 1 when the destination is an
    /// outbox (else 0).
    static let leaseSQL = """
        SELECT \(contentColumns)
        FROM message m INDEXED BY message_ready JOIN envelope e ON e.id = m.envelope_id
        WHERE m.destination = ?1 AND m.state = 'queued' AND m.available_at <= ?2
          AND NOT EXISTS (
            SELECT 1 FROM message p INDEXED BY message_group
            WHERE p.destination = ?1 AND p.record_id = m.record_id AND p.state IN ('queued', 'leased')
              AND (p.state = 'leased' OR p.updated_at < m.updated_at
                   OR (p.updated_at = m.updated_at AND p.id < m.id)))
          AND NOT (?4 AND EXISTS (
            SELECT 1 FROM message d INDEXED BY message_dead_group
            WHERE d.destination = ?1 AND d.record_id = m.record_id AND d.state = 'dead'
              AND (d.updated_at < m.updated_at OR (d.updated_at = m.updated_at AND d.id < m.id))))
        ORDER BY m.available_at, m.id
        LIMIT ?3
        """

    /// Columns 0…9 of every selected row (`message(_:)`): the delivery state and the destination.
    private static let messageColumns =
        ["id", "state", "delivery_count", "available_at", "lease_token", "lease_expires_at", "last_error", "outcome", "reason",
         "destination"].map { "m.\($0)" }.joined(separator: ", ")

    /// `messageColumns` and columns 10…16 with the envelope (message `m` joined with envelope `e`).
    private static let contentColumns =
        messageColumns + ", m.envelope_id, m.submitter, m.record_id, m.updated_at, e.kind, e.payload_digest, e.body"

    /// The rows of a selection (`QueueSelection`), with their content when `content` is true
    /// (always for `.leasable`).
    /// `SELECT` of the rows matching `condition`, with the envelope when `content`.
    private static func selectSQL(_ condition: String, content: Bool, indexedBy index: String? = nil) -> String {
        let message = index.map { "message m INDEXED BY \($0)" } ?? "message m"
        return content
            ? "SELECT \(contentColumns) FROM \(message) JOIN envelope e ON e.id = m.envelope_id WHERE \(condition)"
            : "SELECT \(messageColumns) FROM \(message) WHERE \(condition)"
    }

    // The SQL of each selection but `.leasable` (`leaseSQL`), without and with the envelope
    // (indexes 0 and 1), built once rather than per call.
    private static let expiredSQL = [false, true].map {
        selectSQL("m.destination = ?1 AND m.state = 'leased' AND m.lease_expires_at <= ?2", content: $0, indexedBy: "message_leased")
    }
    private static let allExpiredSQL = [false, true].map {
        selectSQL("m.state = 'leased' AND m.lease_expires_at <= ?2 ORDER BY m.id", content: $0)
    }
    private static let holderSQL = [false, true].map { selectSQL("m.lease_token = ?1 AND m.destination = ?2", content: $0) }
    private static let messageSQL = [false, true].map { selectSQL("m.id = ?1", content: $0) }
    private static let envelopeSQL = [false, true].map { selectSQL("m.envelope_id = ?1 ORDER BY m.id", content: $0) }

    private static func rows(_ db: Database, _ selection: QueueSelection, now: Date, content: Bool) throws -> [StoredMessage] {
        let variant = content ? 1 : 0
        let select: RawStatement
        var withContent = content
        switch selection {
        case .expiredLeases(let participant?):
            select = try RawStatement(db, expiredSQL[variant])
            select.bind(1, participant)
            select.bind(2, millis(now))
        case .expiredLeases(nil):
            select = try RawStatement(db, allExpiredSQL[variant])
            select.bind(2, millis(now))
        case .leasable(let participant, let max):
            select = try RawStatement(db, leaseSQL)
            select.bind(1, participant)
            select.bind(2, millis(now))
            select.bind(3, Int64(max))
            select.bind(4, Int64(Outbox.isOutbox(participant) ? 1 : 0))
            withContent = true
        case .leaseHolders(let participant, let tokens):
            select = try RawStatement(db, holderSQL[variant])
            select.bind(2, participant)
            var rows: [StoredMessage] = []
            for token in tokens {
                select.bind(1, token.rawValue)
                defer { select.reset() }
                if try select.step() { rows.append(message(select, content: content)) }
            }
            return rows
        case .message(let id):
            select = try RawStatement(db, messageSQL[variant])
            select.bind(1, id.rawValue)
        case .messages(let ids):
            // By primary key, one step per id, on the transaction's connection.
            select = try RawStatement(db, messageSQL[variant])
            var rows: [StoredMessage] = []
            for id in Set(ids).sorted() {
                select.bind(1, id.rawValue)
                defer { select.reset() }
                if try select.step() { rows.append(message(select, content: content)) }
            }
            return rows
        case .envelope(let id):
            select = try RawStatement(db, envelopeSQL[variant])
            select.bind(1, id)
        }
        defer { select.reset() }
        var rows: [StoredMessage] = []
        while try select.step() { rows.append(message(select, content: withContent)) }
        return rows
    }

    /// The message in the current row of a `messageColumns` (or `contentColumns`) selection.
    private static func message(_ row: RawStatement, content: Bool) -> StoredMessage {
        let delivery = Delivery(
            state: DeliveryState(rawValue: row.text(1)) ?? .queued, deliveryCount: row.int(2), availableAt: date(row.int64(3)),
            leaseToken: row.optionalText(4).map(LeaseToken.init), leaseExpiresAt: row.optionalInt64(5).map(date),
            lastError: row.optionalText(6), outcome: row.optionalText(7).flatMap { AckOutcome(name: $0, reason: row.optionalText(8)) })
        return StoredMessage(
            id: MessageID(row.int64(0)), destination: row.text(9), delivery: delivery,
            content: content ? StoredMessage.Content(
                envelopeId: row.text(10), submitter: row.text(11), kind: row.text(14), recordId: row.text(12),
                updatedAt: row.text(13), payloadDigest: row.text(15), envelope: row.bytes(16)) : nil)
    }

    /// Writes decided transitions and their history: a lease sets only its lease, an ack its
    /// outcome and receipt (and enqueues what it forwards), any other change the whole delivery
    /// state.
    private static func write(_ db: Database, _ transitions: [Transition]) throws {
        guard !transitions.isEmpty else { return }
        let history = try RawStatement(db, """
            INSERT INTO history (message_id, at, event, delivery_count, detail) VALUES (?1, ?2, ?3, ?4, ?5)
            """)
        // Each statement prepared (looked up in the cache) once per call, not once per message.
        var leaseUpdate, ackUpdate, stateUpdate: RawStatement?
        for transition in transitions {
            let delivery = transition.delivery
            let id = transition.id.rawValue
            switch delivery.state {
            case .leased:
                let update = try leaseUpdate ?? RawStatement(
                    db, "UPDATE message SET state = 'leased', lease_token = ?1, lease_expires_at = ?2 WHERE id = ?3")
                leaseUpdate = update
                update.bind(1, delivery.leaseToken?.rawValue)
                update.bind(2, delivery.leaseExpiresAt.map(millis))
                update.bind(3, id)
                try update.run()
            case .acked:
                let update = try ackUpdate ?? RawStatement(db, """
                    UPDATE message SET state = 'acked', lease_token = NULL, lease_expires_at = NULL, outcome = ?1, reason = ?2,
                      receipt = ?3, acked_at = ?4 WHERE id = ?5
                    """)
                ackUpdate = update
                update.bind(1, delivery.outcome?.name)
                update.bind(2, delivery.outcome?.reason)
                update.bind(3, bytes: transition.receipt)
                update.bind(4, millis(transition.at))
                update.bind(5, id)
                try update.run()
                if let forward = transition.forward {
                    _ = try insert(db, submitter: forward.submitter, items: [forward.item], at: millis(transition.at))
                }
            case .queued, .dead:
                let update = try stateUpdate ?? RawStatement(db, """
                    UPDATE message SET state = ?1, delivery_count = ?2, available_at = ?3, lease_token = ?4, lease_expires_at = ?5,
                      last_error = ?6, outcome = ?7, reason = ?8, died_at = ?9 WHERE id = ?10
                    """)
                stateUpdate = update
                update.bind(1, delivery.state.rawValue)
                update.bind(2, Int64(delivery.deliveryCount))
                update.bind(3, millis(delivery.availableAt))
                update.bind(4, delivery.leaseToken?.rawValue)
                update.bind(5, delivery.leaseExpiresAt.map(millis))
                update.bind(6, delivery.lastError)
                update.bind(7, delivery.outcome?.name)
                update.bind(8, delivery.outcome?.reason)
                update.bind(9, transition.diedAt.map(millis))
                update.bind(10, id)
                try update.run()
            }
            for change in transition.changes {
                history.bind(1, id)
                history.bind(2, millis(transition.at))
                history.bind(3, change.event.rawValue)
                history.bind(4, Int64(change.deliveryCount))
                history.bind(5, change.detail)
                try history.run()
            }
        }
    }
}
