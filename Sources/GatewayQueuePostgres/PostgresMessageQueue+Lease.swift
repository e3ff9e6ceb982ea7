import Foundation
import GatewayQueue
import Logging
import PostgresNIO

/// The lease's statements: the FIFO-group rule in SQL, fenced so that no plan walks the backlog,
/// and a lease's turn, expired leases and leasable messages read in one round trip.
extension PostgresMessageQueue {
    /// The FIFO-group rule of `LeaseSelection` in SQL (see SQLiteMessageQueue.leaseSQL), with its
    /// arguments as placeholders `$first`… (`leasableBinds`): participant, now (ms), whether it
    /// is an outbox, max. `extra` is appended to the selected columns.
    ///
    /// **Plan-proof.** Both group probes end with `OFFSET 0`, which keeps each a correlated
    /// subplan run once per candidate with `(destination, record_id)` as its index condition on
    /// `message_group` / `message_dead_group`. Without the fence, on a table without statistics
    /// (fresh, or grown faster than autovacuum analyses it) the planner turns `NOT EXISTS` into a
    /// nested-loop anti join whose inner scan uses only `destination`: every candidate then walks
    /// every queued message of the destination (`Rows Removed by Join Filter: 1000000` for a
    /// lease of 100 with 10,000 queued, O(backlog) per message). `PostgresLeasePlanTests` checks
    /// the plan on unanalysed tables.
    static func leasableSQL(first: Int, lock: Bool, extra: String = "") -> String {
        let participant = "$\(first)", now = "$\(first + 1)", outbox = "$\(first + 2)", max = "$\(first + 3)"
        return """
            SELECT \(contentColumns)\(extra)
            FROM message m JOIN envelope e ON e.id = m.envelope_id
            WHERE m.destination = \(participant) AND m.state = 'queued' AND m.available_at <= \(now)
              AND NOT EXISTS (
                SELECT 1 FROM message p
                WHERE p.destination = m.destination AND p.record_id = m.record_id AND p.state IN ('queued', 'leased')
                  AND (p.state = 'leased' OR p.updated_at < m.updated_at
                       OR (p.updated_at = m.updated_at AND p.id < m.id))
                OFFSET 0)
              AND NOT (\(outbox) AND EXISTS (
                SELECT 1 FROM message d
                WHERE d.destination = m.destination AND d.record_id = m.record_id AND d.state = 'dead'
                  AND (d.updated_at < m.updated_at OR (d.updated_at = m.updated_at AND d.id < m.id))
                OFFSET 0))
            ORDER BY m.available_at, m.id
            LIMIT \(max)
            \(lock ? "FOR UPDATE OF m SKIP LOCKED" : "")
            """
    }

    /// The arguments of `leasableSQL`, in its placeholders' order.
    static func appendLeasableBinds(_ binds: inout PostgresBindings, participant: String, nowMillis: Int64, max: Int) {
        binds.append(participant)
        binds.append(nowMillis)
        binds.append(Outbox.isOutbox(participant))
        binds.append(max)
    }

    /// The leasable messages of `participant` (`QueueSelection.leasable`) as one statement.
    static func leasableQuery(participant: String, max: Int, nowMillis: Int64, lock: Bool) -> PostgresQuery {
        var binds = PostgresBindings(capacity: 4)
        appendLeasableBinds(&binds, participant: participant, nowMillis: nowMillis, max: max)
        return PostgresQuery(unsafeSQL: leasableSQL(first: 1, lock: lock), binds: binds)
    }

    /// A lease's first round trip: takes the participant's lease turn (a one-time filter of the
    /// first branch, evaluated before either branch scans), then reads its expired leases and its
    /// leasable messages, all locked. Rows are `contentColumns` (no envelope for expired leases)
    /// and column 17, true for an expired lease.
    ///
    /// Both branches share the statement's snapshot, taken before the turn: a row another lessee
    /// changed meanwhile is re-checked in its latest version when it is locked (a leased, acked
    /// or expired row is no longer `queued` and is dropped), and what makes a later message of a
    /// group wait (an earlier pending one, a leased one) is only ever created by enqueue and
    /// replay, which never take the turn anyway.
    static func leaseQuery(participant: String, max: Int, nowMillis: Int64) -> PostgresQuery {
        PostgresQuery(unsafeSQL: leaseSQL, binds: LeaseStatement(participant: participant, max: max, nowMillis: nowMillis).bindings)
    }

    /// `leaseQuery`'s text.
    static let leaseSQL = """
            SELECT * FROM (
              SELECT \(messageColumns), m.envelope_id, m.submitter, m.record_id, m.updated_at,
                     NULL::text AS kind, NULL::text AS payload_digest, NULL::bytea AS body, true AS expired
              FROM message m
              WHERE (SELECT count(*) FROM (SELECT pg_advisory_xact_lock(hashtextextended($1, 0))) AS l) = 1
                AND m.destination = $2 AND m.state = 'leased' AND m.lease_expires_at <= $3
              ORDER BY m.id
              FOR UPDATE OF m SKIP LOCKED
            ) AS expired
            UNION ALL
            SELECT * FROM (
            \(leasableSQL(first: 2, lock: true, extra: ", false AS expired"))
            ) AS leasable
            """

    /// A lease (`first`: the participant's expired leases, `step`: its leasable messages) in the
    /// transaction on `connection`. Usually two round trips: `leaseQuery`, then one write of the
    /// leased rows with their history. When leases have expired, their expiry is written first and
    /// the leasable messages are selected again (an expired message may be leasable again, and
    /// while it was leased it held its group).
    static func lease<Output>(
        _ first: QueueStep<Int>, _ step: QueueStep<Output>, participant: String, _ connection: PostgresConnection, now: Date,
        logger: Logger
    ) async throws -> Output {
        guard case .leasable(_, let max) = step.selection else { return try await run(step, connection, now: now, takingTurn: nil, logger: logger) }
        var expired: [StoredMessage] = []
        var leasable: [StoredMessage] = []
        for try await row in try await connection.execute(
            LeaseStatement(participant: participant, max: max, nowMillis: millis(now)), logger: logger
        ) {
            if try row.makeRandomAccess()[17].decode(Bool.self) {
                expired.append(try message(row, content: false))
            } else {
                leasable.append(try message(row, content: true))
            }
        }
        let (expiries, _) = try first.decide(expired)
        guard expiries.isEmpty else {
            try await store(connection, expiries, logger: logger)
            return try await run(step, connection, now: now, takingTurn: nil, logger: logger)
        }
        let (transitions, output) = try step.decide(leasable)
        try await store(connection, transitions, logger: logger)
        return output
    }
}

/// `leaseQuery` prepared: a lease's first round trip, without a parse and plan per call.
struct LeaseStatement: QueueStatement {
    static let sql = PostgresMessageQueue.leaseSQL
    var bindings = PostgresBindings(capacity: 5)

    init(participant: String, max: Int, nowMillis: Int64) {
        bindings.append("xgw.lease:" + participant)
        PostgresMessageQueue.appendLeasableBinds(&bindings, participant: participant, nowMillis: nowMillis, max: max)
    }
}
