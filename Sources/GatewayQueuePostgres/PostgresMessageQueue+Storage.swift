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
            // Lessees of one destination take turns (see the type's documentation): the lock is
            // taken before the leasable messages are selected, by the first step's statement when
            // there is one (a lease's expired leases: one round trip less), else on its own.
            var turn: String?
            if case .leasable(let participant, _) = step.selection { turn = participant }
            if let participant = turn, let first, first.selection == .expiredLeases(participant: participant) {
                return try await Self.lease(first, step, participant: participant, connection, now: now, logger: logger)
            }
            if let participant = turn {
                try await connection.query(
                    "SELECT pg_advisory_xact_lock(hashtextextended(\("xgw.lease:" + participant), 0))", logger: logger)
                turn = nil
            }
            if let first { _ = try await Self.run(first, connection, now: now, takingTurn: turn, logger: logger) }
            return try await Self.run(step, connection, now: now, takingTurn: nil, logger: logger)
        }
    }

    public func update<Before: Sendable, Output: Sendable>(
        at now: Date, before: QueueStep<Before>, first: QueueStep<Int>?, _ step: QueueStep<Output>
    ) async throws -> (Before, Output) {
        let logger = logger
        return try await transaction { connection in
            // A lease's turn is taken before `before` locks its rows, as a lease takes it before
            // anything: lessees of one destination wait for the turn, never for each other's rows.
            var turn: String?
            if case .leasable(let participant, _) = step.selection { turn = participant }
            if let participant = turn {
                try await connection.query(
                    "SELECT pg_advisory_xact_lock(hashtextextended(\("xgw.lease:" + participant), 0))", logger: logger)
            }
            let output = try await Self.run(before, connection, now: now, takingTurn: nil, logger: logger)
            // The lease statement takes the turn again (advisory locks of a transaction nest).
            if let participant = turn, let first, first.selection == .expiredLeases(participant: participant) {
                return (output, try await Self.lease(first, step, participant: participant, connection, now: now, logger: logger))
            }
            if let first { _ = try await Self.run(first, connection, now: now, takingTurn: nil, logger: logger) }
            return (output, try await Self.run(step, connection, now: now, takingTurn: nil, logger: logger))
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
    static func run<Output>(
        _ step: QueueStep<Output>, _ connection: PostgresConnection, now: Date, takingTurn turn: String?, logger: Logger
    ) async throws -> Output {
        let (transitions, output) = try step.decide(
            try await rows(connection, step.selection, now: now, forUpdate: true, takingTurn: turn, logger: logger))
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
    /// the selection allows it (expired leases, leasable messages). `turn`: the selection of a
    /// participant's expired leases first takes that participant's lease lock (a one-time filter,
    /// evaluated before the scan even when no row matches). Its snapshot predates the lock, which
    /// is safe: a row another lessee changed meanwhile is re-checked in its latest version when it
    /// is locked, and the leasable messages are selected by the next statement, after the lock.
    private static func rows(
        _ connection: PostgresConnection, _ selection: QueueSelection, now: Date, forUpdate: Bool, takingTurn turn: String? = nil,
        logger: Logger
    ) async throws -> [StoredMessage] {
        let nowMillis = millis(now)
        let lock = forUpdate ? "FOR UPDATE OF m" : ""
        let query: PostgresQuery
        var content = false
        switch selection {
        case .expiredLeases(let participant?) where turn == participant:
            query = """
                SELECT \(unescaped: messageColumns) FROM message m
                WHERE (SELECT count(*) FROM (SELECT pg_advisory_xact_lock(hashtextextended(\("xgw.lease:" + participant), 0))) AS l) = 1
                  AND m.destination = \(participant) AND m.state = 'leased' AND m.lease_expires_at <= \(nowMillis)
                ORDER BY m.id \(unescaped: lock) SKIP LOCKED
                """
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
            content = true
            query = leasableQuery(participant: participant, max: max, nowMillis: nowMillis, lock: forUpdate)
        case .leaseHolders(let participant, let tokens) where forUpdate:
            // Every ack, nack and dead-lettering: prepared.
            var rows: [StoredMessage] = []
            for try await row in try await connection.execute(
                LeaseHolders(tokens: tokens.map(\.rawValue), participant: participant), logger: logger
            ) {
                rows.append(try message(row, content: false))
            }
            return rows
        case .leaseHolders(let participant, let tokens):
            content = true
            query = """
                SELECT \(unescaped: contentColumns) FROM message m JOIN envelope e ON e.id = m.envelope_id
                WHERE m.lease_token = ANY(\(tokens.map(\.rawValue))) AND m.destination = \(participant)
                """
        case .message(let id):
            query = "SELECT \(unescaped: messageColumns) FROM message m WHERE m.id = \(id.rawValue) \(unescaped: lock)"
        case .messages(let ids):
            // Locked in id order: two batches over the same rows never wait for each other in a cycle.
            let unique = Array(Set(ids.map(\.rawValue)))
            query = "SELECT \(unescaped: messageColumns) FROM message m WHERE m.id = ANY(\(unique)) ORDER BY m.id \(unescaped: lock)"
        case .envelope(let id):
            query = "SELECT \(unescaped: messageColumns) FROM message m WHERE m.envelope_id = \(id) ORDER BY m.id \(unescaped: lock)"
        }
        var rows: [StoredMessage] = []
        for try await row in try await connection.query(query, logger: logger) {
            rows.append(try message(row, content: content))
        }
        return rows
    }

    /// The message in a row of `messageColumns` (or `contentColumns`).
    static func message(_ row: PostgresRow, content: Bool) throws -> StoredMessage {
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

    /// Writes decided transitions and their history, and enqueues what acks forward.
    static func store(_ connection: PostgresConnection, _ transitions: [Transition], logger: Logger) async throws {
        // Acks write only what an ack changes (as the former ack statement did): a narrower row
        // to encode and to update. Any other transition writes the whole delivery state.
        let acks = transitions.filter { $0.delivery.state == .acked }
        try await storeAcks(connection, acks, logger: logger)
        try await storeStates(connection, acks.count == transitions.count ? [] : transitions.filter { $0.delivery.state != .acked }, logger: logger)
        // What the acks forward, in their order, one insert per run of forwards of one submitter
        // (a batch of receipts from one recipient: one statement). An envelope id already in the
        // run starts a new one: `insert` takes a document's ids as distinct, as `enqueue` checks.
        var runs: [(submitter: String, items: [EnqueueItem], at: Int64)] = []
        for transition in acks {
            guard let forward = transition.forward else { continue }
            if let last = runs.indices.last, runs[last].submitter == forward.submitter, runs[last].at == millis(transition.at),
                !runs[last].items.contains(where: { $0.envelopeId == forward.item.envelopeId })
            {
                runs[last].items.append(forward.item)
            } else {
                runs.append((forward.submitter, [forward.item], millis(transition.at)))
            }
        }
        for run in runs {
            _ = try await insert(connection, submitter: run.submitter, items: run.items, at: run.at, logger: logger)
        }
    }

    /// Acked messages: outcome, receipt and ack time, with their history, in one statement.
    private static func storeAcks(_ connection: PostgresConnection, _ transitions: [Transition], logger: Logger) async throws {
        guard !transitions.isEmpty else { return }
        try await update(
            connection, AckUpdate(rows: try json(transitions.map(AckRow.init)), history: try json(transitions.flatMap(HistoryRow.rows))),
            logger: logger)
    }

    /// Any other transition: the whole delivery state, with the history.
    private static func storeStates(_ connection: PostgresConnection, _ transitions: [Transition], logger: Logger) async throws {
        guard !transitions.isEmpty else { return }
        try await update(
            connection,
            StateUpdate(rows: try json(transitions.map(DeliveryRow.init)), history: try json(transitions.flatMap(HistoryRow.rows))),
            logger: logger)
    }

    private static func update(_ connection: PostgresConnection, _ statement: some QueueStatement, logger: Logger) async throws {
        for try await _ in try await connection.execute(statement, logger: logger) {}
    }

    /// One statement: updates the messages of `$1` (JSON records of `columns`, as `u`) with
    /// `set` and inserts the history rows of `$2` in their order. The ids are also given as an
    /// array (`= ANY`): joined with the JSON rows alone, a table without statistics is read whole
    /// (a sequential scan and a hash join: O(table) per batch).
    static func updateSQL(columns: String, set: String) -> String {
        """
        WITH u AS (
          SELECT * FROM jsonb_to_recordset($1::jsonb) AS u(\(columns))
        ), updated AS (
          UPDATE message m SET \(set) FROM u WHERE m.id = u.id AND m.id = ANY(ARRAY(SELECT id FROM u))
          RETURNING m.id
        )
        INSERT INTO history (message_id, at, event, delivery_count, detail)
        SELECT h.message_id, h.at, h.event, h.delivery_count, h.detail
        FROM ROWS FROM (jsonb_to_recordset($2::jsonb)
               AS (message_id bigint, at bigint, event text, delivery_count int, detail text))
             WITH ORDINALITY AS h(message_id, at, event, delivery_count, detail, n)
        ORDER BY h.n
        """
    }
}

/// A statement the driver runs often, prepared once per connection (PostgresNIO keeps it by
/// `name`): no parse and plan per call. Rows are handed over as they come.
protocol QueueStatement: PostgresPreparedStatement where Row == PostgresRow {
    var bindings: PostgresBindings { get }
}

extension QueueStatement {
    static var name: String { "xgw_" + String(describing: self) }
    func makeBindings() -> PostgresBindings { bindings }
    func decodeRow(_ row: PostgresRow) -> PostgresRow { row }
}

/// The messages of a participant holding lease tokens, locked (an ack's, a nack's selection).
struct LeaseHolders: QueueStatement {
    static let sql = "SELECT \(PostgresMessageQueue.messageColumns) FROM message m WHERE m.lease_token = ANY($1) AND m.destination = $2 FOR UPDATE"
    var bindings = PostgresBindings(capacity: 2)

    init(tokens: [String], participant: String) {
        bindings.append(tokens)
        bindings.append(participant)
    }
}

/// Acks: outcome, receipt and ack time (`storeAcks`).
struct AckUpdate: QueueStatement {
    static let sql = PostgresMessageQueue.updateSQL(
        columns: "id bigint, outcome text, reason text, receipt text, at bigint",
        set: """
            state = 'acked', lease_token = NULL, lease_expires_at = NULL, outcome = u.outcome, reason = u.reason,
            receipt = decode(u.receipt, 'base64'), acked_at = u.at
            """)
    var bindings = PostgresBindings(capacity: 2)

    init(rows: String, history: String) {
        bindings.append(rows)
        bindings.append(history)
    }
}

/// Any other transition: the whole delivery state (`storeStates`).
struct StateUpdate: QueueStatement {
    static let sql = PostgresMessageQueue.updateSQL(
        columns: """
            id bigint, state text, delivery_count int, available_at bigint, lease_token text, lease_expires_at bigint,
            last_error text, outcome text, reason text, died_at bigint
            """,
        set: """
            state = u.state, delivery_count = u.delivery_count, available_at = u.available_at, lease_token = u.lease_token,
            lease_expires_at = u.lease_expires_at, last_error = u.last_error, outcome = u.outcome, reason = u.reason,
            died_at = u.died_at
            """)
    var bindings = PostgresBindings(capacity: 2)

    init(rows: String, history: String) {
        bindings.append(rows)
        bindings.append(history)
    }
}

// MARK: - Rows passed as JSON

private struct HistoryRow: Encodable {
    var message_id: Int64
    var at: Int64
    var event: String
    var delivery_count: Int
    var detail: String?

    static func rows(_ transition: Transition) -> [HistoryRow] {
        let at = PostgresMessageQueue.millis(transition.at)
        return transition.changes.map {
            HistoryRow(message_id: transition.id.rawValue, at: at, event: $0.event.rawValue, delivery_count: $0.deliveryCount, detail: $0.detail)
        }
    }
}

/// An ack as `storeAcks` reads it.
private struct AckRow: Encodable {
    var id: Int64
    var outcome: String?
    var reason: String?
    var receipt: String?
    var at: Int64

    init(_ transition: Transition) {
        id = transition.id.rawValue
        outcome = transition.delivery.outcome?.name
        reason = transition.delivery.outcome?.reason
        receipt = transition.receipt.map { Data($0).base64EncodedString() }
        at = PostgresMessageQueue.millis(transition.at)
    }
}

/// A transition other than an ack as `storeStates` reads it: the new delivery state.
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
    }
}
