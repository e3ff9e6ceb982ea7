import Foundation
import GatewayQueue
import Logging
import PostgresNIO

/// A lease and an ack in one round trip each: server-side procedures (`xgw_lease`, `xgw_ack`,
/// installed by migration 4) select, decide, write with history and `COMMIT` inside the `CALL`,
/// so the answer arrives after the commit (an autocommit statement's rows arrive before its
/// implicit commit, which proves nothing: see postgres.md, Ack). They are `Delivery.lease` and
/// `Delivery.ack` in SQL; the differential test holds them to the in-memory oracle. Where SQL
/// would need more of the rules (expired leases to reclaim, whose back-off has a random jitter;
/// an ack that forwards a receipt) they answer nothing and the queue runs its steps.
extension PostgresMessageQueue {
    /// Migration 4.
    static let procedures = [
        // The lease: the participant's turn; nothing when it has expired leases (the steps
        // reclaim them first); else the leasable heads (`leasableSQL`'s rule and fences, as it
        // was when this migration was written) leased under new tokens, with `leased` history.
        """
        CREATE PROCEDURE xgw_lease(
          p_participant text, p_now bigint, p_outbox boolean, p_max integer, p_expires bigint,
          INOUT o_expired boolean DEFAULT NULL, INOUT o_ids bigint[] DEFAULT NULL, INOUT o_tokens text[] DEFAULT NULL,
          INOUT o_counts bigint[] DEFAULT NULL, INOUT o_envelope_ids text[] DEFAULT NULL, INOUT o_submitters text[] DEFAULT NULL,
          INOUT o_kinds text[] DEFAULT NULL, INOUT o_record_ids text[] DEFAULT NULL, INOUT o_updated_ats text[] DEFAULT NULL,
          INOUT o_digests text[] DEFAULT NULL, INOUT o_bodies bytea[] DEFAULT NULL)
        LANGUAGE plpgsql AS $$
        BEGIN
          PERFORM pg_advisory_xact_lock(hashtextextended('xgw.lease:' || p_participant, 0));
          o_expired := EXISTS (
            SELECT 1 FROM message m
            WHERE m.destination = p_participant AND m.state = 'leased' AND m.lease_expires_at <= p_now);
          IF o_expired THEN
            RETURN;
          END IF;
          SELECT coalesce(array_agg(c.id ORDER BY c.available_at, c.id), '{}'),
                 coalesce(array_agg(gen_random_uuid()::text ORDER BY c.available_at, c.id), '{}'),
                 coalesce(array_agg(c.delivery_count::bigint ORDER BY c.available_at, c.id), '{}'),
                 coalesce(array_agg(c.envelope_id ORDER BY c.available_at, c.id), '{}'),
                 coalesce(array_agg(c.submitter ORDER BY c.available_at, c.id), '{}'),
                 coalesce(array_agg(c.kind ORDER BY c.available_at, c.id), '{}'),
                 coalesce(array_agg(c.record_id::text ORDER BY c.available_at, c.id), '{}'),
                 coalesce(array_agg(c.updated_at::text ORDER BY c.available_at, c.id), '{}'),
                 coalesce(array_agg(c.payload_digest ORDER BY c.available_at, c.id), '{}'),
                 coalesce(array_agg(c.body ORDER BY c.available_at, c.id), '{}')
          INTO o_ids, o_tokens, o_counts, o_envelope_ids, o_submitters, o_kinds, o_record_ids, o_updated_ats, o_digests, o_bodies
          FROM (
            SELECT m.id, m.available_at, m.delivery_count, m.envelope_id, m.submitter, m.record_id, m.updated_at,
                   e.kind, e.payload_digest, e.body
            FROM message m JOIN envelope e ON e.id = m.envelope_id
            WHERE m.destination = p_participant AND m.state = 'queued' AND m.available_at <= p_now
              AND NOT EXISTS (
                SELECT 1 FROM message p
                WHERE p.destination = m.destination AND p.record_id = m.record_id AND p.state IN ('queued', 'leased')
                  AND (p.state = 'leased' OR p.updated_at < m.updated_at
                       OR (p.updated_at = m.updated_at AND p.id < m.id))
                OFFSET 0)
              AND NOT (p_outbox AND EXISTS (
                SELECT 1 FROM message d
                WHERE d.destination = m.destination AND d.record_id = m.record_id AND d.state = 'dead'
                  AND (d.updated_at < m.updated_at OR (d.updated_at = m.updated_at AND d.id < m.id))
                OFFSET 0))
            ORDER BY m.available_at, m.id
            LIMIT p_max
            FOR UPDATE OF m SKIP LOCKED
          ) AS c;
          IF cardinality(o_ids) > 0 THEN
            UPDATE message m SET state = 'leased', lease_token = u.token, lease_expires_at = p_expires
            FROM unnest(o_ids, o_tokens) AS u(id, token)
            WHERE m.id = u.id AND m.id = ANY(o_ids);
            INSERT INTO history (message_id, at, event, delivery_count)
            SELECT u.id, p_now, 'leased', u.c
            FROM unnest(o_ids, o_counts) WITH ORDINALITY AS u(id, c, n)
            ORDER BY u.n;
            COMMIT;
          END IF;
        END
        $$
        """,
        // A batch of acks, in order: the holders of the tokens locked (waiting for rows another
        // node is settling, then re-checked); per item '' (stored), 'stale-lease' (no current
        // holder, or its message already acked by this batch) or 'lease-expired'. `p_present`
        // per item: 1 a reason, 2 a history detail, 4 a receipt (arrays carry no NULLs here).
        """
        CREATE PROCEDURE xgw_ack(
          p_participant text, p_now bigint, p_tokens text[], p_outcomes text[], p_reasons text[], p_details text[],
          p_receipts bytea[], p_present integer[], INOUT o_refusals text[] DEFAULT NULL)
        LANGUAGE plpgsql AS $$
        DECLARE
          v_ids bigint[];
          v_items integer[];
          v_counts integer[];
        BEGIN
          SELECT array_agg(coalesce(r.refusal, '') ORDER BY r.n),
                 array_agg(r.id ORDER BY r.n) FILTER (WHERE r.refusal IS NULL),
                 array_agg(r.n::integer ORDER BY r.n) FILTER (WHERE r.refusal IS NULL),
                 array_agg(r.delivery_count ORDER BY r.n) FILTER (WHERE r.refusal IS NULL)
          INTO o_refusals, v_ids, v_items, v_counts
          FROM (
            SELECT a.n, h.id, h.delivery_count,
                   CASE WHEN h.id IS NULL THEN 'stale-lease'
                        WHEN h.lease_expires_at <= p_now THEN 'lease-expired'
                        WHEN row_number() OVER (PARTITION BY a.token ORDER BY a.n) > 1 THEN 'stale-lease'
                   END AS refusal
            FROM unnest(p_tokens) WITH ORDINALITY AS a(token, n)
            LEFT JOIN (
              SELECT m.id, m.lease_token, m.lease_expires_at, m.delivery_count FROM message m
              WHERE m.lease_token = ANY(p_tokens) AND m.destination = p_participant AND m.state = 'leased'
              FOR UPDATE
            ) AS h ON h.lease_token = a.token
          ) AS r;
          IF v_ids IS NOT NULL THEN
            UPDATE message m SET state = 'acked', lease_token = NULL, lease_expires_at = NULL, outcome = p_outcomes[u.n],
              reason = CASE WHEN p_present[u.n] & 1 <> 0 THEN p_reasons[u.n] END,
              receipt = CASE WHEN p_present[u.n] & 4 <> 0 THEN p_receipts[u.n] END, acked_at = p_now
            FROM unnest(v_ids, v_items) AS u(id, n)
            WHERE m.id = u.id AND m.id = ANY(v_ids);
            INSERT INTO history (message_id, at, event, delivery_count, detail)
            SELECT u.id, p_now, 'acked', u.c, CASE WHEN p_present[u.n] & 2 <> 0 THEN p_details[u.n] END
            FROM unnest(v_ids, v_items, v_counts) WITH ORDINALITY AS u(id, n, c, o)
            ORDER BY u.o;
            COMMIT;
          END IF;
        END
        $$
        """,
    ]

    /// `QueueStorage.leaseAtOnce`: `xgw_lease`, one round trip; nil when the participant has
    /// expired leases (the steps reclaim them, with their random back-off, then lease).
    public func leaseAtOnce(participant: String, max: Int, visibility: TimeInterval, at now: Date) async throws -> [LeasedMessage]? {
        let expires = Self.millis(now + visibility)
        let logger = logger
        return try await withConnection { connection in
            var leased: [LeasedMessage]?
            let call = LeaseCall(participant: participant, nowMillis: Self.millis(now), max: max, expiresMillis: expires)
            for try await row in try await connection.execute(call, logger: logger) {
                leased = try Self.leased(row, participant: participant, expiresAt: Self.date(expires))
            }
            return leased
        }
    }

    /// The messages of `xgw_lease`'s answer, nil when it reported expired leases.
    private static func leased(_ row: PostgresRow, participant: String, expiresAt: Date) throws -> [LeasedMessage]? {
        let columns = row.makeRandomAccess()
        guard try !columns[0].decode(Bool.self) else { return nil }
        let ids = try columns[1].decode([Int64].self), tokens = try columns[2].decode([String].self)
        let counts = try columns[3].decode([Int64].self), envelopeIds = try columns[4].decode([String].self)
        let submitters = try columns[5].decode([String].self), kinds = try columns[6].decode([String].self)
        let recordIds = try columns[7].decode([String].self), updatedAts = try columns[8].decode([String].self)
        let digests = try columns[9].decode([String].self), bodies = try columns[10].decode([ByteBuffer].self)
        guard [tokens.count, counts.count, envelopeIds.count, submitters.count, kinds.count, recordIds.count, updatedAts.count,
               digests.count, bodies.count].allSatisfy({ $0 == ids.count })
        else { throw QueueError(.storage, "xgw_lease answered columns of different lengths") }
        return ids.indices.map { i in
            LeasedMessage(
                messageId: MessageID(ids[i]), envelopeId: envelopeIds[i], destination: participant, submitter: submitters[i],
                kind: kinds[i], recordId: recordIds[i], updatedAt: updatedAts[i], payloadDigest: digests[i],
                envelope: Array(buffer: bodies[i]), deliveryCount: Int(counts[i]), leaseToken: LeaseToken(tokens[i]),
                leaseExpiresAt: expiresAt)
        }
    }

    /// `QueueStorage.ackAtOnce`: `xgw_ack`, one round trip; nil when an ack forwards a receipt
    /// (the steps enqueue it in the ack's transaction).
    public func ackAtOnce(participant: String, _ acknowledgements: [Acknowledgement], at now: Date) async throws -> [QueueError?]? {
        guard !acknowledgements.contains(where: { $0.forward != nil }) else { return nil }
        let call = AckCall(participant: participant, nowMillis: Self.millis(now), acknowledgements)
        let count = acknowledgements.count
        let logger = logger
        return try await withConnection { connection in
            var refusals: [String] = []
            for try await row in try await connection.execute(call, logger: logger) {
                refusals = try row.makeRandomAccess()[0].decode([String].self)
            }
            guard refusals.count == count else { throw QueueError(.storage, "xgw_ack answered \(refusals.count) of \(count) items") }
            return refusals.map { refusal -> QueueError? in
                switch refusal {
                case "": nil
                case QueueError.Code.leaseExpired.rawValue: QueueError(.leaseExpired, "the lease expired")
                default: QueueError(.staleLease, "the lease is not current")
                }
            }
        }
    }
}

/// `CALL xgw_lease`, prepared.
struct LeaseCall: QueueStatement {
    static let sql = "CALL xgw_lease($1::text, $2::bigint, $3::boolean, $4::integer, $5::bigint)"
    var bindings = PostgresBindings(capacity: 5)

    init(participant: String, nowMillis: Int64, max: Int, expiresMillis: Int64) {
        bindings.append(participant)
        bindings.append(nowMillis)
        bindings.append(Outbox.isOutbox(participant))
        bindings.append(Int64(Swift.min(max, Int(Int32.max))))
        bindings.append(expiresMillis)
    }
}

/// `CALL xgw_ack`, prepared: the batch's columns as binary arrays (no JSON to encode).
struct AckCall: QueueStatement {
    static let sql = """
        CALL xgw_ack($1::text, $2::bigint, $3::text[], $4::text[], $5::text[], $6::text[], $7::bytea[], $8::integer[])
        """
    var bindings = PostgresBindings(capacity: 8)

    init(participant: String, nowMillis: Int64, _ acknowledgements: [Acknowledgement]) {
        var tokens: [String] = [], outcomes: [String] = [], reasons: [String] = [], details: [String] = []
        var receipts: [ByteBuffer] = [], present: [Int32] = []
        for ack in acknowledgements {
            let reason = ack.outcome.reason, detail = Delivery.ackedDetail(ack.outcome, ack.detail)
            tokens.append(ack.leaseToken.rawValue)
            outcomes.append(ack.outcome.name)
            reasons.append(reason ?? "")
            details.append(detail ?? "")
            receipts.append(ack.receipt.map { ByteBuffer(bytes: $0) } ?? ByteBuffer())
            present.append((reason == nil ? 0 : 1) | (detail == nil ? 0 : 2) | (ack.receipt == nil ? 0 : 4))
        }
        bindings.append(participant)
        bindings.append(nowMillis)
        bindings.append(tokens)
        bindings.append(outcomes)
        bindings.append(reasons)
        bindings.append(details)
        bindings.append(receipts)
        bindings.append(present)
    }
}
