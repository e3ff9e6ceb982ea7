import Foundation
import GatewayQueue
import Logging
import PostgresNIO
import Synchronization

/// The PostgreSQL driver: several gateway nodes share one database.
///
/// **Running.** The queue owns a `PostgresClient` (a swift-service-lifecycle `Service`): call
/// `run()` (or put `client` and the queue's `run()` into the server's service group) before the
/// first operation, and cancel it to close the connections. `migrate()` creates or upgrades the
/// schema under an advisory lock, so nodes that start together migrate once.
///
/// **Transactions.** Every call is one transaction (a whole document's envelopes, a batch of acks).
/// Rows travel as binary arrays or one JSON parameter, so a batch is a few round trips whatever
/// its size; an enqueue, a lease and an ack are one each (a `CALL` that commits inside:
/// `+Enqueue`, `+Procedures`).
///
/// **Concurrency.** Lease runs under a per-destination transaction advisory lock and selects with
/// `FOR UPDATE SKIP LOCKED`: lessees of one destination take turns for the few milliseconds a lease
/// takes (so a FIFO group never has two messages in flight, whichever node leases), lessees of
/// different destinations never wait for each other, and rows being acked, nacked or replayed by
/// other nodes are skipped rather than waited for. Times come from `QueueConfiguration.clock` (in
/// milliseconds), never from the database, exactly like the SQLite driver; nodes' clocks must
/// agree to well below the visibility timeout (NTP).
///
/// **Rules.** Every delivery transition is decided by `QueueDecision` (`QueueStorage+Operations`),
/// as for the other drivers; this type selects rows and writes what was decided.
public final class PostgresMessageQueue: QueueStorage, Sendable {
    public let settings: PostgresQueueSettings
    /// The connection pool; `run()` runs it.
    public let client: PostgresClient
    public let configuration: QueueConfiguration
    let logger: Logger

    public init(
        settings: PostgresQueueSettings, configuration: QueueConfiguration = QueueConfiguration(),
        logger: Logger = Logger(label: "xgw.queue.postgres")
    ) {
        self.settings = settings
        self.configuration = configuration
        self.logger = logger
        // The pool logs every failed connection attempt at info: quieter while a database is down.
        var poolLogger = logger
        poolLogger.logLevel = max(logger.logLevel, .notice)
        client = PostgresClient(configuration: settings.clientConfiguration, backgroundLogger: poolLogger)
    }

    public convenience init(
        url: String, configuration: QueueConfiguration = QueueConfiguration(),
        logger: Logger = Logger(label: "xgw.queue.postgres")
    ) throws {
        self.init(settings: try PostgresQueueSettings(url: url), configuration: configuration, logger: logger)
    }

    /// Runs the connection pool until the task is cancelled.
    public func run() async {
        await client.run()
    }

    // MARK: - MessageQueue

    // `enqueue`: PostgresMessageQueue+Enqueue.swift.

    public func receipts(submitter: String, since: Date, limit: Int) async throws -> [StoredReceipt] {
        try await receipts("""
            SELECT m.id, m.envelope_id, m.destination, m.record_id, m.outcome, m.reason, m.receipt, m.acked_at
            FROM message m WHERE m.submitter = \(submitter) AND m.state = 'acked' AND m.acked_at > \(Self.millis(since))
              AND \(unescaped: Self.notOutbox)
            ORDER BY m.acked_at, m.id LIMIT \(limit)
            """)
    }

    public func receipts(envelopeId: String) async throws -> [StoredReceipt] {
        try await receipts("""
            SELECT m.id, m.envelope_id, m.destination, m.record_id, m.outcome, m.reason, m.receipt, m.acked_at
            FROM message m WHERE m.envelope_id = \(envelopeId) AND m.state = 'acked' AND \(unescaped: Self.notOutbox) ORDER BY m.id
            """)
    }

    /// True (in SQL) when `m.destination` is not an outbox: the prefix of `Outbox.isOutbox`
    /// (ASCII, so its first characters are its first bytes).
    static let notOutbox = "left(m.destination, \(Outbox.prefix.utf8.count)) <> '\(Outbox.prefix)'"

    public func storedEnvelope(id: String) async throws -> StoredEnvelope? {
        let logger = logger
        return try await withConnection { connection in
            var found: StoredEnvelope?
            for try await (submitter, kind, recordId, updatedAt, digest, body, destinations) in try await connection.query("""
                SELECT submitter, kind, record_id, updated_at, payload_digest, body, destinations FROM envelope WHERE id = \(id)
                """, logger: logger
            ).decode((String, String, String, String, String, ByteBuffer, String).self) {
                found = StoredEnvelope(
                    submitter: submitter, kind: kind, recordId: recordId, updatedAt: updatedAt, payloadDigest: digest,
                    envelope: Array(body.readableBytesView), destinations: Self.split(destinations))
            }
            return found
        }
    }

    public func oldestQueued() async throws -> [String: Date] {
        let logger = logger
        return try await withConnection { connection in
            // Ids follow enqueue order: the lowest pending id of each destination, then its
            // envelope's enqueue time.
            var oldest: [String: Date] = [:]
            for try await (destination, enqueuedAt) in try await connection.query("""
                SELECT o.destination, e.enqueued_at
                FROM (SELECT destination, min(id) AS id FROM message WHERE state IN ('queued', 'leased') GROUP BY destination) o
                JOIN message m ON m.id = o.id JOIN envelope e ON e.id = m.envelope_id
                """, logger: logger
            ).decode((String, Int64).self) {
                oldest[destination] = Self.date(enqueuedAt)
            }
            return oldest
        }
    }

    public func deadLetters(participant: String, limit: Int) async throws -> [DeadLetter] {
        let logger = logger
        return try await withConnection { connection in
            var letters: [DeadLetter] = []
            for try await (id, envelopeId, destination, submitter, recordId, count, lastError, diedAt) in try await connection.query("""
                SELECT id, envelope_id, destination, submitter, record_id, delivery_count, last_error, died_at
                FROM message WHERE destination = \(participant) AND state = 'dead' ORDER BY died_at, id LIMIT \(limit)
                """, logger: logger
            ).decode((Int64, String, String, String, String, Int, String?, Int64?).self) {
                letters.append(DeadLetter(
                    messageId: MessageID(id), envelopeId: envelopeId, destination: destination, submitter: submitter,
                    recordId: recordId, deliveryCount: count, lastError: lastError, diedAt: Self.date(diedAt ?? 0)))
            }
            return letters
        }
    }

    public func history(envelopeId: String) async throws -> [HistoryEntry] {
        let logger = logger
        return try await withConnection { connection in
            var entries: [HistoryEntry] = []
            for try await (id, destination, event, at, count, detail) in try await connection.query("""
                SELECT h.message_id, m.destination, h.event, h.at, h.delivery_count, h.detail
                FROM message m JOIN history h ON h.message_id = m.id
                WHERE m.envelope_id = \(envelopeId) ORDER BY h.seq
                """, logger: logger
            ).decode((Int64, String, String, Int64, Int, String?).self) {
                guard let event = DeliveryEvent(rawValue: event) else { continue }
                entries.append(HistoryEntry(
                    messageId: MessageID(id), destination: destination, event: event, at: Self.date(at),
                    deliveryCount: count, detail: detail))
            }
            return entries
        }
    }

    /// Runs under a transaction advisory lock taken without waiting: while one node purges (and
    /// archives), another node's purge returns nil at once instead of archiving the same batch.
    /// The batch's rows stay locked until its deletion commits.
    public func purgeAcked(before cutoff: Date, limit: Int, archive: @escaping PurgeArchive) async throws -> Int? {
        let cutoff = Self.millis(cutoff)
        let logger = logger
        // The archive's refusal reaches the caller as it was thrown, not as a storage error.
        let refusal = Mutex<(any Error)?>(nil)
        do {
            return try await purgeBatch(before: cutoff, limit: limit, logger: logger) { batch in
                do {
                    try await archive(batch)
                } catch {
                    refusal.withLock { $0 = error }
                    throw error
                }
            }
        } catch {
            if let refused = refusal.withLock({ $0 }) { throw refused }
            throw error
        }
    }

    private func purgeBatch(before cutoff: Int64, limit: Int, logger: Logger, archive: @escaping PurgeArchive) async throws -> Int? {
        try await transaction { connection in
            var locked = false
            for try await value in try await connection.query(
                "SELECT pg_try_advisory_xact_lock(hashtextextended('xgw.purge', 0))", logger: logger
            ).decode(Bool.self) {
                locked = value
            }
            guard locked else { return nil }
            var settled: [SettledMessage] = []
            for try await (id, envelopeId, destination, submitter, kind, recordId, updatedAt, digest, body, enqueuedAt, outcome, reason, receipt, ackedAt)
                in try await connection.query("""
                    SELECT m.id, m.envelope_id, m.destination, m.submitter, e.kind, e.record_id, e.updated_at, e.payload_digest,
                           e.body, e.enqueued_at, m.outcome, m.reason, m.receipt, m.acked_at
                    FROM message m JOIN envelope e ON e.id = m.envelope_id
                    WHERE m.state = 'acked' AND m.acked_at < \(cutoff) ORDER BY m.acked_at, m.id LIMIT \(limit) FOR UPDATE OF m
                    """, logger: logger
                ).decode((Int64, String, String, String, String, String, String, String, ByteBuffer, Int64, String?, String?, ByteBuffer?, Int64?).self)
            {
                settled.append(SettledMessage(
                    messageId: MessageID(id), envelopeId: envelopeId, destination: destination, submitter: submitter, kind: kind,
                    recordId: recordId, updatedAt: updatedAt, payloadDigest: digest, envelope: Array(body.readableBytesView),
                    enqueuedAt: Self.date(enqueuedAt), outcome: AckOutcome(name: outcome ?? "accepted", reason: reason) ?? .accepted,
                    receipt: receipt.map { Array($0.readableBytesView) }, ackedAt: Self.date(ackedAt ?? 0), history: []))
            }
            guard !settled.isEmpty else { return 0 }
            let ids = settled.map(\.messageId.rawValue)
            var position: [Int64: Int] = [:]
            for (index, id) in ids.enumerated() { position[id] = index }
            for try await (id, event, at, count, detail) in try await connection.query("""
                SELECT message_id, event, at, delivery_count, detail FROM history WHERE message_id = ANY(\(ids)) ORDER BY message_id, seq
                """, logger: logger
            ).decode((Int64, String, Int64, Int, String?).self) {
                guard let index = position[id], let event = DeliveryEvent(rawValue: event) else { continue }
                settled[index].history.append(HistoryEntry(
                    messageId: MessageID(id), destination: settled[index].destination, event: event, at: Self.date(at),
                    deliveryCount: count, detail: detail))
            }
            try await archive(settled)
            var purged = 0
            var envelopes: [String] = []
            for try await (count, deleted) in try await connection.query("""
                WITH old AS (
                  DELETE FROM message WHERE id = ANY(\(ids)) AND state = 'acked' RETURNING id, envelope_id
                ), h AS (
                  DELETE FROM history WHERE message_id IN (SELECT id FROM old)
                )
                SELECT count(*), coalesce(array_agg(DISTINCT envelope_id), '{}') FROM old
                """, logger: logger
            ).decode((Int, [String]).self) {
                purged = count
                envelopes = deleted
            }
            if !envelopes.isEmpty {
                try await connection.query("""
                    DELETE FROM envelope e WHERE e.id = ANY(\(envelopes))
                      AND NOT EXISTS (SELECT 1 FROM message m WHERE m.envelope_id = e.id)
                    """, logger: logger)
            }
            return purged
        }
    }

    /// Throws `.storage` unless the database answers within 2 seconds (or the call timeout when
    /// shorter) and holds the current schema version (readiness: reachable and migrated). Goes
    /// through the same deadline as every call, so a ping never leaves a pooled connection behind.
    public func ping() async throws {
        let latest = Self.migrations.map(\.version).max() ?? 0
        let logger = logger
        let version = try await withConnection(timeout: min(.seconds(2), settings.timeout)) { connection in
            var version = 0
            for try await value in try await connection.query(
                "SELECT coalesce(max(version), 0) FROM schema_migrations", logger: logger
            ).decode(Int.self) {
                version = value
            }
            return version
        }
        guard version >= latest else { throw QueueError(.storage, "the schema is at version \(version), not \(latest) (not migrated yet)") }
    }

    private func receipts(_ query: PostgresQuery) async throws -> [StoredReceipt] {
        let logger = logger
        return try await withConnection { connection in
            var receipts: [StoredReceipt] = []
            for try await (id, envelopeId, destination, recordId, outcome, reason, receipt, ackedAt) in try await connection.query(
                query, logger: logger
            ).decode((Int64, String, String, String, String?, String?, ByteBuffer?, Int64?).self) {
                receipts.append(StoredReceipt(
                    messageId: MessageID(id), envelopeId: envelopeId, destination: destination, recordId: recordId,
                    outcome: AckOutcome(name: outcome ?? "accepted", reason: reason) ?? .accepted,
                    receipt: receipt.map { Array($0.readableBytesView) }, ackedAt: Self.date(ackedAt ?? 0)))
            }
            return receipts
        }
    }

    static func json(_ value: some Encodable) throws -> String {
        String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
    }

    /// Closes at once (failing the statement in flight); does not wait.
    static func close(_ connection: PostgresConnection) {
        let future: EventLoopFuture<Void> = connection.close()
        future.whenComplete { _ in }
    }

    static func millis(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded(.down)) }
    static func date(_ millis: Int64) -> Date { Date(timeIntervalSince1970: Double(millis) / 1000) }
    static func split(_ text: String) -> [String] { text.split(separator: "\n").map(String.init) }
}
