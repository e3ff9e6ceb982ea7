import Foundation
import GatewayQueue
import Logging
import PostgresNIO

/// An enqueue in one round trip: `xgw_enqueue` (migration 5) stores a document's items and
/// commits inside the `CALL`, so its answer arrives after the commit; `BEGIN`, the insert and
/// `COMMIT` were three round trips (four with a duplicate to look up). `xgw_enqueue_rows` is
/// the insert alone, also run inside an ack's transaction when it forwards a receipt.
extension PostgresMessageQueue {
    /// The insert of `xgw_enqueue_rows` (versions 5 and 6 alike): new envelopes, their messages
    /// (in item then destination order, so ids follow enqueue order) and `queued` history in one
    /// statement, key duplicates skipped, the ids stored now into `v_inserted`. Interpolated after two
    /// spaces of indentation, so both migrations read exactly as written.
    static let insertRows = """
    WITH input AS (
        SELECT * FROM unnest(p_ids, p_kinds, p_record_ids, p_updated_ats, p_digests, p_destinations, p_bodies)
          WITH ORDINALITY AS i(id, kind, record_id, updated_at, payload_digest, destinations, body, ord)
      ), env AS (
        INSERT INTO envelope (id, submitter, kind, record_id, updated_at, payload_digest, destinations, body, enqueued_at)
        SELECT i.id, p_submitter, i.kind, i.record_id, i.updated_at, i.payload_digest, i.destinations, i.body, p_at
        FROM input i ORDER BY i.ord
        ON CONFLICT (submitter, record_id, payload_digest) DO NOTHING
        RETURNING envelope.id
      ), msg AS (
        INSERT INTO message (envelope_id, destination, submitter, record_id, updated_at, state, delivery_count, available_at)
        SELECT i.id, d.destination, p_submitter, i.record_id, i.updated_at, 'queued', 0, p_at
        FROM input i JOIN env ON env.id = i.id
        CROSS JOIN LATERAL unnest(string_to_array(i.destinations, E'\\n')) WITH ORDINALITY AS d(destination, n)
        ORDER BY i.ord, d.n
        RETURNING message.id
      ), hist AS (
        INSERT INTO history (message_id, at, event, delivery_count)
        SELECT msg.id, p_at, 'queued', 0 FROM msg ORDER BY msg.id
      )
      SELECT coalesce(array_agg(env.id), '{}') INTO v_inserted FROM env;
    """

    /// Migration 5.
    static let enqueueProcedures = [
        // New envelopes, their messages (in item then destination order, so ids follow enqueue
        // order) and `queued` history in one statement, key duplicates skipped; then per item (in
        // order) whether it was stored now, and for a duplicate the envelope stored under its key.
        // Two statements, so the second sees what a concurrent enqueue of the same key committed
        // while the first waited for it (and skipped its item).
        """
        CREATE FUNCTION xgw_enqueue_rows(
          p_submitter text, p_at bigint, p_ids text[], p_kinds text[], p_record_ids text[], p_updated_ats text[],
          p_digests text[], p_destinations text[], p_bodies bytea[])
        RETURNS TABLE (o_n bigint, o_id text, o_destinations text, o_duplicate boolean)
        LANGUAGE plpgsql AS $$
        DECLARE
          v_inserted text[];
        BEGIN
          \(insertRows)
          RETURN QUERY
          SELECT i.n, coalesce(s.id, e.id), e.destinations, s.id IS NULL
          FROM unnest(p_ids, p_record_ids, p_digests) WITH ORDINALITY AS i(id, record_id, digest, n)
          LEFT JOIN unnest(v_inserted) AS s(id) ON s.id = i.id
          LEFT JOIN LATERAL (
            SELECT e.id, e.destinations FROM envelope e
            WHERE s.id IS NULL AND e.submitter = p_submitter AND e.record_id = i.record_id AND e.payload_digest = i.digest
          ) AS e ON true
          ORDER BY i.n;
        END
        $$
        """,
        // The enqueue: `xgw_enqueue_rows` and `COMMIT`. Per item: the envelope id it is stored
        // under ('' when none was found), a duplicate's stored destinations, whether a duplicate.
        """
        CREATE PROCEDURE xgw_enqueue(
          p_submitter text, p_at bigint, p_ids text[], p_kinds text[], p_record_ids text[], p_updated_ats text[],
          p_digests text[], p_destinations text[], p_bodies bytea[],
          INOUT o_ids text[] DEFAULT NULL, INOUT o_destinations text[] DEFAULT NULL, INOUT o_duplicates boolean[] DEFAULT NULL)
        LANGUAGE plpgsql AS $$
        BEGIN
          SELECT array_agg(coalesce(r.o_id, '') ORDER BY r.o_n), array_agg(coalesce(r.o_destinations, '') ORDER BY r.o_n),
                 array_agg(r.o_duplicate ORDER BY r.o_n)
          INTO o_ids, o_destinations, o_duplicates
          FROM xgw_enqueue_rows(p_submitter, p_at, p_ids, p_kinds, p_record_ids, p_updated_ats, p_digests,
                                p_destinations, p_bodies) AS r;
          COMMIT;
        END
        $$
        """,
    ]

    /// Migration 6: `xgw_enqueue_rows` answers without reading the table when every item was
    /// stored now (the usual case), and looks each duplicate up by its key in a fenced subquery.
    /// Version 5's answer was one cached statement: its generic plan, made while the table was
    /// empty, hashed every envelope of the submitter on each call (O(table) per enqueue, single
    /// enqueues at 500/s fell behind within seconds on a fresh schema).
    static let enqueueRowsPlanned = [
        """
        CREATE OR REPLACE FUNCTION xgw_enqueue_rows(
          p_submitter text, p_at bigint, p_ids text[], p_kinds text[], p_record_ids text[], p_updated_ats text[],
          p_digests text[], p_destinations text[], p_bodies bytea[])
        RETURNS TABLE (o_n bigint, o_id text, o_destinations text, o_duplicate boolean)
        LANGUAGE plpgsql AS $$
        DECLARE
          v_inserted text[];
        BEGIN
          \(insertRows)
          IF cardinality(v_inserted) = cardinality(p_ids) THEN
            RETURN QUERY SELECT i.n, i.id, NULL::text, false FROM unnest(p_ids) WITH ORDINALITY AS i(id, n);
            RETURN;
          END IF;
          -- A duplicate's envelope by its key, one index probe per item: fenced (OFFSET 0) as a
          -- correlated subquery, so no plan joins the table whole.
          RETURN QUERY
          SELECT i.n, coalesce(s.id, e.id), e.destinations, s.id IS NULL
          FROM unnest(p_ids, p_record_ids, p_digests) WITH ORDINALITY AS i(id, record_id, digest, n)
          LEFT JOIN unnest(v_inserted) AS s(id) ON s.id = i.id
          LEFT JOIN LATERAL (
            SELECT e.id, e.destinations FROM envelope e
            WHERE s.id IS NULL AND e.submitter = p_submitter AND e.record_id = i.record_id AND e.payload_digest = i.digest
            OFFSET 0
          ) AS e ON true
          ORDER BY i.n;
        END
        $$
        """,
    ]

    public func enqueue(submitter: String, items: [EnqueueItem]) async throws -> [EnqueuedItem] {
        try QueueValidation.check(submitter: submitter, items: items)
        guard !items.isEmpty else { return [] }
        let call = EnqueueCall(submitter: submitter, atMillis: Self.millis(configuration.clock.now()), items)
        let logger = logger
        return try await withConnection { connection in
            var answer: (ids: [String], destinations: [String], duplicates: [Bool])?
            for try await row in try await connection.execute(call, logger: logger) {
                let columns = row.makeRandomAccess()
                answer = (
                    try columns[0].decode([String].self), try columns[1].decode([String].self), try columns[2].decode([Bool].self)
                )
            }
            guard let answer else { throw QueueError(.storage, "xgw_enqueue answered nothing") }
            return try Self.enqueued(items, ids: answer.ids, destinations: answer.destinations, duplicates: answer.duplicates)
        }
    }

    /// Stores a document's items in the transaction running on `connection` (what an ack
    /// forwards): `xgw_enqueue_rows`.
    static func insert(
        _ connection: PostgresConnection, submitter: String, items: [EnqueueItem], at: Int64, logger: Logger
    ) async throws -> [EnqueuedItem] {
        var ids: [String] = [], destinations: [String] = [], duplicates: [Bool] = []
        for try await (id, stored, duplicate) in try await connection.execute(
            EnqueueRows(submitter: submitter, atMillis: at, items), logger: logger
        ).decode((String?, String?, Bool).self) {
            ids.append(id ?? "")
            destinations.append(stored ?? "")
            duplicates.append(duplicate)
        }
        return try enqueued(items, ids: ids, destinations: destinations, duplicates: duplicates)
    }

    /// The items' answers from the columns `xgw_enqueue_rows` gives per item.
    private static func enqueued(
        _ items: [EnqueueItem], ids: [String], destinations: [String], duplicates: [Bool]
    ) throws -> [EnqueuedItem] {
        guard ids.count == items.count, destinations.count == items.count, duplicates.count == items.count else {
            throw QueueError(.storage, "the enqueue answered \(ids.count) of \(items.count) items")
        }
        return try items.indices.map { index in
            let item = items[index]
            guard duplicates[index] else {
                return EnqueuedItem(envelopeId: item.envelopeId, destinations: item.destinations, duplicate: false)
            }
            guard !ids[index].isEmpty else {
                throw QueueError(.storage, "envelope \(item.envelopeId) was neither stored nor found")
            }
            return EnqueuedItem(envelopeId: ids[index], destinations: split(destinations[index]), duplicate: true)
        }
    }
}

/// The arguments of `xgw_enqueue` and `xgw_enqueue_rows`, in their order: the items' columns as
/// binary arrays (the bodies as bytea, not base64 in JSON).
private func enqueueBindings(submitter: String, atMillis: Int64, _ items: [EnqueueItem]) -> PostgresBindings {
    var bindings = PostgresBindings(capacity: 9)
    bindings.append(submitter)
    bindings.append(atMillis)
    bindings.append(items.map(\.envelopeId))
    bindings.append(items.map(\.kind))
    bindings.append(items.map(\.recordId))
    bindings.append(items.map(\.updatedAt))
    bindings.append(items.map(\.payloadDigest))
    bindings.append(items.map { $0.destinations.joined(separator: "\n") })
    bindings.append(items.map { ByteBuffer(bytes: $0.envelope) })
    return bindings
}

private let enqueueArguments = "$1::text, $2::bigint, $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bytea[]"

/// `CALL xgw_enqueue`, prepared.
struct EnqueueCall: QueueStatement {
    static let sql = "CALL xgw_enqueue(\(enqueueArguments))"
    var bindings: PostgresBindings

    init(submitter: String, atMillis: Int64, _ items: [EnqueueItem]) {
        bindings = enqueueBindings(submitter: submitter, atMillis: atMillis, items)
    }
}

/// `xgw_enqueue_rows` inside a transaction, prepared.
struct EnqueueRows: QueueStatement {
    static let sql = "SELECT o_id, o_destinations, o_duplicate FROM xgw_enqueue_rows(\(enqueueArguments)) ORDER BY o_n"
    var bindings: PostgresBindings

    init(submitter: String, atMillis: Int64, _ items: [EnqueueItem]) {
        bindings = enqueueBindings(submitter: submitter, atMillis: atMillis, items)
    }
}
