import Foundation
import GatewayQueue
import Logging
import PostgresNIO

/// The PostgreSQL driver: several gateway nodes share one database.
///
/// **Running.** The queue owns a `PostgresClient` (a swift-service-lifecycle `Service`): call
/// `run()` (or put `client` and the queue's `run()` into the server's service group) before the
/// first operation, and cancel it to close the connections. `migrate()` creates or upgrades the
/// schema under an advisory lock, so nodes that start together migrate once.
///
/// **Transactions.** Every call is one transaction (a whole document's envelopes, a batch of acks).
/// Rows travel as one JSON parameter (`jsonb_to_recordset`), so a batch is a few round trips
/// whatever its size.
///
/// **Concurrency.** Lease runs under a per-destination transaction advisory lock and selects with
/// `FOR UPDATE SKIP LOCKED`: lessees of one destination take turns for the few milliseconds a lease
/// takes (so a FIFO group never has two messages in flight, whichever node leases), lessees of
/// different destinations never wait for each other, and rows being acked, nacked or replayed by
/// other nodes are skipped rather than waited for. Times come from `QueueConfiguration.clock` (in
/// milliseconds), never from the database, exactly like the SQLite driver; nodes' clocks must
/// agree to well below the visibility timeout (NTP).
///
/// **Wake-ups.** Enqueue and replay `NOTIFY xgw_queue` with the destination; `waitForMessages`
/// returns as soon as a notification for the participant arrives (LISTEN on one connection of
/// the pool), so an idle lessee does not poll.
public final class PostgresMessageQueue: MessageQueue, Sendable {
    public let settings: PostgresQueueSettings
    /// The connection pool; `run()` runs it.
    public let client: PostgresClient
    private let configuration: QueueConfiguration
    private let logger: Logger
    private let waiters = Waiters()

    static let channel = "xgw_queue"

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

    /// Runs the connection pool and the LISTEN loop until the task is cancelled.
    public func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.client.run() }
            group.addTask { await self.listen() }
        }
    }

    // MARK: - Schema

    /// Schema versions, applied in order, each once, in one transaction with its `schema_migrations` row.
    static let migrations: [(version: Int, sql: [String])] = [
        (1, [
            """
            CREATE TABLE envelope (
              id text PRIMARY KEY,
              submitter text NOT NULL,
              kind text NOT NULL,
              record_id text COLLATE "C" NOT NULL,
              updated_at text COLLATE "C" NOT NULL,
              payload_digest text NOT NULL,
              destinations text NOT NULL,
              body bytea NOT NULL,
              enqueued_at bigint NOT NULL,
              UNIQUE (submitter, record_id, payload_digest)
            )
            """,
            """
            CREATE TABLE message (
              id bigserial PRIMARY KEY,
              envelope_id text NOT NULL REFERENCES envelope(id),
              destination text NOT NULL,
              submitter text NOT NULL,
              record_id text COLLATE "C" NOT NULL,
              updated_at text COLLATE "C" NOT NULL,
              state text NOT NULL,
              delivery_count integer NOT NULL,
              available_at bigint NOT NULL,
              lease_token text,
              lease_expires_at bigint,
              last_error text,
              outcome text,
              reason text,
              receipt bytea,
              acked_at bigint,
              died_at bigint
            )
            """,
            "CREATE INDEX message_envelope ON message(envelope_id)",
            "CREATE INDEX message_ready ON message(destination, available_at, id) WHERE state = 'queued'",
            """
            CREATE INDEX message_group ON message(destination, record_id, updated_at, id)
              WHERE state IN ('queued', 'leased')
            """,
            "CREATE INDEX message_leased ON message(destination, lease_expires_at) WHERE state = 'leased'",
            "CREATE UNIQUE INDEX message_token ON message(lease_token) WHERE lease_token IS NOT NULL",
            "CREATE INDEX message_acked ON message(submitter, acked_at) WHERE state = 'acked'",
            "CREATE INDEX message_acked_at ON message(acked_at) WHERE state = 'acked'",
            "CREATE INDEX message_dead ON message(destination, died_at) WHERE state = 'dead'",
            """
            CREATE TABLE history (
              seq bigserial PRIMARY KEY,
              message_id bigint NOT NULL,
              at bigint NOT NULL,
              event text NOT NULL,
              delivery_count integer NOT NULL,
              detail text
            )
            """,
            "CREATE INDEX history_message ON history(message_id, seq)",
        ]),
    ]

    /// Creates the schema and applies missing migrations, under a transaction advisory lock so that
    /// nodes starting together do it once. Safe to call on every start. Returns versions applied.
    @discardableResult
    public func migrate() async throws -> [Int] {
        let schema = settings.schema
        return try await transaction { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(hashtextextended('xgw.migrate', 0))", logger: self.logger)
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \(schema)"), logger: self.logger)
            try await connection.query(PostgresQuery(unsafeSQL: """
                CREATE TABLE IF NOT EXISTS \(schema).schema_migrations (
                  version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())
                """), logger: self.logger)
            var applied = Set<Int>()
            for try await version in try await connection.query(
                PostgresQuery(unsafeSQL: "SELECT version FROM \(schema).schema_migrations"), logger: self.logger
            ).decode(Int.self) {
                applied.insert(version)
            }
            var done: [Int] = []
            for migration in Self.migrations where !applied.contains(migration.version) {
                for sql in migration.sql {
                    try await connection.query(PostgresQuery(unsafeSQL: sql), logger: self.logger)
                }
                try await connection.query(
                    "INSERT INTO schema_migrations (version) VALUES (\(migration.version))", logger: self.logger)
                done.append(migration.version)
            }
            return done
        }
    }

    /// Drops the queue's schema with every table in it (test and benchmark scratch schemas).
    public func dropSchema() async throws {
        let schema = settings.schema
        let logger = logger
        try await withConnection { connection in
            try await connection.query(PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \(schema) CASCADE"), logger: logger)
        }
    }

    // MARK: - MessageQueue

    public func enqueue(submitter: String, items: [EnqueueItem]) async throws -> [EnqueuedItem] {
        try QueueValidation.check(submitter: submitter, items: items)
        guard !items.isEmpty else { return [] }
        let at = Self.millis(configuration.clock.now())
        let rows = items.enumerated().map { index, item in
            EnvelopeRow(
                ord: index, id: item.envelopeId, kind: item.kind, record_id: item.recordId, updated_at: item.updatedAt,
                payload_digest: item.payloadDigest, destinations: item.destinations.joined(separator: "\n"),
                body: Data(item.envelope).base64EncodedString())
        }
        let json = try Self.json(rows)
        let logger = logger
        return try await transaction { connection in
            // New envelopes, their messages (in item then destination order, so ids follow enqueue
            // order) and `queued` history, in one statement; key duplicates are skipped.
            var inserted = Set<String>()
            for try await id in try await connection.query("""
                WITH input AS (
                  SELECT * FROM jsonb_to_recordset(\(json)::jsonb) AS i(
                    ord int, id text, kind text, record_id text, updated_at text, payload_digest text,
                    destinations text, body text)
                ), env AS (
                  INSERT INTO envelope (id, submitter, kind, record_id, updated_at, payload_digest, destinations, body, enqueued_at)
                  SELECT id, \(submitter), kind, record_id, updated_at, payload_digest, destinations,
                         decode(body, 'base64'), \(at)
                  FROM input ORDER BY ord
                  ON CONFLICT (submitter, record_id, payload_digest) DO NOTHING
                  RETURNING id
                ), msg AS (
                  INSERT INTO message (envelope_id, destination, submitter, record_id, updated_at, state, delivery_count, available_at)
                  SELECT i.id, d.destination, \(submitter), i.record_id, i.updated_at, 'queued', 0, \(at)
                  FROM input i JOIN env ON env.id = i.id
                  CROSS JOIN LATERAL unnest(string_to_array(i.destinations, E'\\n')) WITH ORDINALITY AS d(destination, n)
                  ORDER BY i.ord, d.n
                  RETURNING id, destination
                ), hist AS (
                  INSERT INTO history (message_id, at, event, delivery_count)
                  SELECT id, \(at), 'queued', 0 FROM msg ORDER BY id
                ), notified AS (
                  SELECT pg_notify('\(unescaped: Self.channel)', destination) FROM (SELECT DISTINCT destination FROM msg) AS d
                )
                SELECT id FROM env WHERE (SELECT count(*) FROM notified) >= 0
                """, logger: logger
            ).decode(String.self) {
                inserted.insert(id)
            }
            var stored: [IdempotencyKey: (id: String, destinations: [String])] = [:]
            if inserted.count < items.count {
                let keys = try Self.json(items.filter { !inserted.contains($0.envelopeId) }.map {
                    KeyRow(record_id: $0.recordId, payload_digest: $0.payloadDigest)
                })
                for try await (id, recordId, digest, destinations) in try await connection.query("""
                    SELECT e.id, e.record_id, e.payload_digest, e.destinations
                    FROM jsonb_to_recordset(\(keys)::jsonb) AS k(record_id text, payload_digest text)
                    JOIN envelope e ON e.submitter = \(submitter) AND e.record_id = k.record_id
                      AND e.payload_digest = k.payload_digest
                    """, logger: logger
                ).decode((String, String, String, String).self) {
                    stored[IdempotencyKey(recordId: recordId, payloadDigest: digest)] = (id, Self.split(destinations))
                }
            }
            return try items.map { item in
                if inserted.contains(item.envelopeId) {
                    return EnqueuedItem(envelopeId: item.envelopeId, destinations: item.destinations, duplicate: false)
                }
                guard let first = stored[item.key] else {
                    throw QueueError(.storage, "envelope \(item.envelopeId) was neither stored nor found")
                }
                return EnqueuedItem(envelopeId: first.id, destinations: first.destinations, duplicate: true)
            }
        }
    }

    public func lease(participant: String, max: Int, visibility: TimeInterval) async throws -> [LeasedMessage] {
        try QueueValidation.check(max: max, visibility: visibility)
        let now = configuration.clock.now()
        let nowMillis = Self.millis(now)
        let logger = logger
        return try await transaction { connection in
            // Lessees of one destination take turns (see the type's documentation).
            try await connection.query(
                "SELECT pg_advisory_xact_lock(hashtextextended(\("xgw.lease:" + participant), 0))", logger: logger)
            _ = try await self.reclaim(connection, participant: participant, now: now)
            var selected: [(Int64, Delivery, LeasedMessage)] = []
            for try await row in try await connection.query("""
                SELECT \(unescaped: Self.leasedColumns)
                FROM message m JOIN envelope e ON e.id = m.envelope_id
                WHERE m.destination = \(participant) AND m.state = 'queued' AND m.available_at <= \(nowMillis)
                  AND NOT EXISTS (
                    SELECT 1 FROM message p
                    WHERE p.destination = m.destination AND p.record_id = m.record_id AND p.state IN ('queued', 'leased')
                      AND (p.state = 'leased' OR p.updated_at < m.updated_at
                           OR (p.updated_at = m.updated_at AND p.id < m.id)))
                ORDER BY m.available_at, m.id
                LIMIT \(max)
                FOR UPDATE OF m SKIP LOCKED
                """, logger: logger
            ) {
                let (id, delivery) = try Self.delivery(row)
                let message = try Self.leasedMessage(
                    row, id: id, participant: participant, delivery: delivery, token: LeaseToken.random(), expiresAt: now)
                selected.append((id, delivery, message))
            }
            var updates: [DeliveryRow] = []
            var leased: [LeasedMessage] = []
            for (id, delivery, message) in selected {
                var delivery = delivery
                var message = message
                let changes = try delivery.lease(token: message.leaseToken, now: now, visibility: visibility)
                updates.append(DeliveryRow(id: id, delivery, changes: changes, at: nowMillis))
                message.leaseExpiresAt = Self.date(Self.millis(delivery.leaseExpiresAt ?? now))
                leased.append(message)
            }
            try await Self.store(connection, updates, logger: logger)
            return leased
        }
    }

    public func leased(participant: String, leaseToken: LeaseToken) async throws -> LeasedMessage? {
        let nowMillis = Self.millis(configuration.clock.now())
        let logger = logger
        return try await withConnection { connection in
            var found: LeasedMessage?
            for try await row in try await connection.query("""
                SELECT \(unescaped: Self.leasedColumns)
                FROM message m JOIN envelope e ON e.id = m.envelope_id
                WHERE m.lease_token = \(leaseToken.rawValue) AND m.destination = \(participant)
                  AND m.state = 'leased' AND m.lease_expires_at > \(nowMillis)
                """, logger: logger
            ) {
                let (id, delivery) = try Self.delivery(row)
                guard let expiresAt = delivery.leaseExpiresAt else { continue }
                found = try Self.leasedMessage(
                    row, id: id, participant: participant, delivery: delivery, token: leaseToken, expiresAt: expiresAt)
            }
            return found
        }
    }

    /// One statement: every acknowledgement whose lease is current and unexpired becomes `acked`
    /// with its history row; the refused ones are then told apart (expired or stale) by a read.
    /// The same transition as `Delivery.ack`, written in SQL so that an ack is three round trips
    /// (BEGIN, the statement, COMMIT) instead of four with a locking read. Not left to autocommit:
    /// PostgresNIO ends a statement's rows before the server commits it (at Sync), so only a
    /// COMMIT's answer proves the write is durable.
    public func ack(participant: String, _ acknowledgements: [Acknowledgement]) async throws -> [QueueError?] {
        guard !acknowledgements.isEmpty else { return [] }
        let nowMillis = Self.millis(configuration.clock.now())
        let logger = logger
        // A token repeated in one batch: the first one counts, the others are stale (as in `Delivery`).
        var seen = Set<String>()
        var rows: [AckRow] = []
        for (index, ack) in acknowledgements.enumerated() where seen.insert(ack.leaseToken.rawValue).inserted {
            rows.append(AckRow(
                ord: index, token: ack.leaseToken.rawValue, outcome: ack.outcome.name, reason: ack.outcome.reason,
                detail: ack.outcome.reason.map { "rejected: \($0)" }, receipt: ack.receipt.map { Data($0).base64EncodedString() }))
        }
        let json = try Self.json(rows)
        let tokens = rows.map { ($0.ord, $0.token) }
        return try await transaction { connection in
            var acked = Set<Int>()
            for try await ord in try await connection.query("""
                WITH a AS (
                  SELECT * FROM jsonb_to_recordset(\(json)::jsonb) AS a(
                    ord int, token text, outcome text, reason text, detail text, receipt text)
                ), done AS (
                  UPDATE message m SET state = 'acked', lease_token = NULL, lease_expires_at = NULL,
                    outcome = a.outcome, reason = a.reason, receipt = decode(a.receipt, 'base64'), acked_at = \(nowMillis)
                  FROM a
                  WHERE m.lease_token = a.token AND m.destination = \(participant) AND m.state = 'leased'
                    AND m.lease_expires_at > \(nowMillis)
                  RETURNING m.id, m.delivery_count, a.ord, a.detail
                ), hist AS (
                  INSERT INTO history (message_id, at, event, delivery_count, detail)
                  SELECT id, \(nowMillis), 'acked', delivery_count, detail FROM done ORDER BY ord
                )
                SELECT ord FROM done
                """, logger: logger
            ).decode(Int.self) {
                acked.insert(ord)
            }
            var expired = Set<String>()
            let refused = tokens.filter { !acked.contains($0.0) }.map(\.1)
            if !refused.isEmpty {
                for try await token in try await connection.query("""
                    SELECT lease_token FROM message
                    WHERE lease_token = ANY(\(refused)) AND destination = \(participant) AND state = 'leased'
                      AND lease_expires_at <= \(nowMillis)
                    """, logger: logger
                ).decode(String.self) {
                    expired.insert(token)
                }
            }
            return acknowledgements.indices.map { index -> QueueError? in
                if acked.contains(index) { return nil }
                if expired.contains(acknowledgements[index].leaseToken.rawValue) {
                    return QueueError(.leaseExpired, "the lease expired")
                }
                return QueueError(.staleLease, "the lease is not current")
            }
        }
    }

    public func nack(participant: String, leaseToken: LeaseToken, error: String) async throws {
        let now = configuration.clock.now()
        let configuration = configuration
        let logger = logger
        try await transaction { connection in
            var found: (Int64, Delivery)?
            for try await row in try await connection.query("""
                SELECT \(unescaped: Self.deliveryColumns("m")) FROM message m
                WHERE m.lease_token = \(leaseToken.rawValue) AND m.destination = \(participant) FOR UPDATE
                """, logger: logger
            ) {
                found = try Self.delivery(row)
            }
            guard let (id, found) = found else { throw QueueError(.staleLease, "the lease is not current") }
            var delivery = found
            let changes = try delivery.nack(
                token: leaseToken, error: error, now: now, policy: configuration.retry, random: configuration.random())
            var row = DeliveryRow(id: id, delivery, changes: changes, at: Self.millis(now))
            if delivery.state == .dead { row.died_at = Self.millis(now) }
            try await Self.store(connection, [row], logger: logger)
        }
    }

    public func reclaimExpired() async throws -> Int {
        let now = configuration.clock.now()
        return try await transaction { connection in
            try await self.reclaim(connection, participant: nil, now: now)
        }
    }

    public func receipts(submitter: String, since: Date, limit: Int) async throws -> [StoredReceipt] {
        try await receipts("""
            SELECT m.id, m.envelope_id, m.destination, m.record_id, m.outcome, m.reason, m.receipt, m.acked_at
            FROM message m WHERE m.submitter = \(submitter) AND m.state = 'acked' AND m.acked_at > \(Self.millis(since))
            ORDER BY m.acked_at, m.id LIMIT \(limit)
            """)
    }

    public func receipts(envelopeId: String) async throws -> [StoredReceipt] {
        try await receipts("""
            SELECT m.id, m.envelope_id, m.destination, m.record_id, m.outcome, m.reason, m.receipt, m.acked_at
            FROM message m WHERE m.envelope_id = \(envelopeId) AND m.state = 'acked' ORDER BY m.id
            """)
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

    public func replay(messageId: MessageID) async throws {
        let now = configuration.clock.now()
        let logger = logger
        try await transaction { connection in
            var found: (Int64, Delivery)?
            var destination = ""
            for try await row in try await connection.query("""
                SELECT \(unescaped: Self.deliveryColumns("m")), m.destination FROM message m
                WHERE m.id = \(messageId.rawValue) FOR UPDATE
                """, logger: logger
            ) {
                found = try Self.delivery(row)
                destination = try row.makeRandomAccess()[9].decode(String.self)
            }
            guard var (id, delivery) = found else { throw QueueError(.notFound, "no message \(messageId)") }
            let changes = try delivery.replay(now: now)
            try await Self.store(connection, [DeliveryRow(id: id, delivery, changes: changes, at: Self.millis(now))], logger: logger)
            try await connection.query("SELECT pg_notify(\(Self.channel), \(destination))", logger: logger)
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

    public func depths() async throws -> [String: QueueDepth] {
        try await reclaimExpired()
        let logger = logger
        return try await withConnection { connection in
            var depths: [String: QueueDepth] = [:]
            for try await (destination, state, count) in try await connection.query(
                "SELECT destination, state, count(*) FROM message GROUP BY destination, state", logger: logger
            ).decode((String, String, Int).self) {
                depths[destination, default: QueueDepth()].add(state: state, count: count)
            }
            return depths
        }
    }

    public func purgeAcked(before cutoff: Date) async throws -> Int {
        let cutoff = Self.millis(cutoff)
        let logger = logger
        return try await transaction { connection in
            var purged = 0
            var envelopes: [String] = []
            for try await (count, ids) in try await connection.query("""
                WITH old AS (
                  DELETE FROM message WHERE state = 'acked' AND acked_at < \(cutoff) RETURNING id, envelope_id
                ), h AS (
                  DELETE FROM history WHERE message_id IN (SELECT id FROM old)
                )
                SELECT count(*), coalesce(array_agg(DISTINCT envelope_id), '{}') FROM old
                """, logger: logger
            ).decode((Int, [String]).self) {
                purged = count
                envelopes = ids
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

    // MARK: - Wake-ups

    /// Waits until a message may be available for `participant` (an enqueue or replay for it was
    /// committed, on any node) or `timeout` seconds pass; returns true when woken by a notification.
    /// Lessees call it after an empty `lease` instead of sleeping a fixed interval. A notification
    /// lost while the LISTEN connection reconnects only delays the lessee until the timeout.
    public func waitForMessages(participant: String, timeout: TimeInterval) async -> Bool {
        await waiters.wait(for: participant, timeout: timeout)
    }

    /// LISTENs on a connection of its own (outside the pool, so a listener broken by a server
    /// restart never holds a pooled connection), re-connecting after failures, until cancelled.
    private func listen() async {
        while !Task.isCancelled {
            var connection: PostgresConnection?
            do {
                let opened = try await PostgresConnection.connect(
                    configuration: settings.connectionConfiguration, id: 0, logger: logger)
                connection = opened
                // Cancellation (shutdown) closes the connection: the notification sequence does
                // not end on cancellation by itself.
                try await withTaskCancellationHandler {
                    try await opened.listen(on: Self.channel) { notifications in
                        for try await notification in notifications {
                            self.waiters.wake(notification.payload)
                        }
                    }
                } onCancel: {
                    Self.close(opened)
                }
            } catch {
                if Task.isCancelled { break }
                logger.debug("LISTEN \(Self.channel) failed; retrying", metadata: ["error": "\(String(reflecting: type(of: error)))"])
            }
            try? await connection?.close()
            try? await Task.sleep(nanoseconds: 500_000_000)
        }
    }

    // MARK: - Internals

    /// Columns 0…8 of every row that `delivery(_:)` reads.
    static func deliveryColumns(_ table: String) -> String {
        ["id", "state", "delivery_count", "available_at", "lease_token", "lease_expires_at", "last_error", "outcome", "reason"]
            .map { "\(table).\($0)" }.joined(separator: ", ")
    }

    /// What a lease selection reads (message `m`, envelope `e`): `deliveryColumns`, then columns
    /// 9…15 that `leasedMessage` decodes.
    static let leasedColumns =
        deliveryColumns("m") + ", m.envelope_id, m.submitter, m.record_id, m.updated_at, e.kind, e.payload_digest, e.body"

    /// The message in a row of `leasedColumns`.
    static func leasedMessage(
        _ row: PostgresRow, id: Int64, participant: String, delivery: Delivery, token: LeaseToken, expiresAt: Date
    ) throws -> LeasedMessage {
        let columns = row.makeRandomAccess()
        var body = try columns[15].decode(ByteBuffer.self)
        return LeasedMessage(
            messageId: MessageID(id), envelopeId: try columns[9].decode(String.self), destination: participant,
            submitter: try columns[10].decode(String.self), kind: try columns[13].decode(String.self),
            recordId: try columns[11].decode(String.self), updatedAt: try columns[12].decode(String.self),
            payloadDigest: try columns[14].decode(String.self),
            envelope: body.readBytes(length: body.readableBytes) ?? [], deliveryCount: delivery.deliveryCount,
            leaseToken: token, leaseExpiresAt: expiresAt)
    }

    static func delivery(_ row: PostgresRow) throws -> (Int64, Delivery) {
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
        return (try columns[0].decode(Int64.self), delivery)
    }

    /// Expired leases of `participant` (all when nil) back to the queue or dead.
    private func reclaim(_ connection: PostgresConnection, participant: String?, now: Date) async throws -> Int {
        let nowMillis = Self.millis(now)
        let rows: PostgresRowSequence
        if let participant {
            rows = try await connection.query("""
                SELECT \(unescaped: Self.deliveryColumns("m")) FROM message m
                WHERE m.destination = \(participant) AND m.state = 'leased' AND m.lease_expires_at <= \(nowMillis)
                ORDER BY m.id FOR UPDATE SKIP LOCKED
                """, logger: logger)
        } else {
            rows = try await connection.query("""
                SELECT \(unescaped: Self.deliveryColumns("m")) FROM message m
                WHERE m.state = 'leased' AND m.lease_expires_at <= \(nowMillis)
                ORDER BY m.id FOR UPDATE SKIP LOCKED
                """, logger: logger)
        }
        var updates: [DeliveryRow] = []
        for try await row in rows {
            var (id, delivery) = try Self.delivery(row)
            let changes = delivery.expireIfDue(now: now, policy: configuration.retry, random: configuration.random())
            guard !changes.isEmpty else { continue }
            var update = DeliveryRow(id: id, delivery, changes: changes, at: nowMillis)
            if delivery.state == .dead { update.died_at = nowMillis }
            updates.append(update)
        }
        try await Self.store(connection, updates, logger: logger)
        return updates.count
    }

    /// Stores transitions and their history in one statement.
    private static func store(_ connection: PostgresConnection, _ rows: [DeliveryRow], logger: Logger) async throws {
        guard !rows.isEmpty else { return }
        let deliveries = try json(rows)
        let history = try json(rows.flatMap(\.history))
        try await connection.query("""
            WITH u AS (
              SELECT * FROM jsonb_to_recordset(\(deliveries)::jsonb) AS u(
                id bigint, state text, delivery_count int, available_at bigint, lease_token text, lease_expires_at bigint,
                last_error text, outcome text, reason text, died_at bigint, set_receipt boolean, receipt text, acked_at bigint)
            ), updated AS (
              UPDATE message m SET state = u.state, delivery_count = u.delivery_count, available_at = u.available_at,
                lease_token = u.lease_token, lease_expires_at = u.lease_expires_at, last_error = u.last_error,
                outcome = u.outcome, reason = u.reason, died_at = u.died_at,
                receipt = CASE WHEN u.set_receipt THEN decode(u.receipt, 'base64') ELSE m.receipt END,
                acked_at = CASE WHEN u.set_receipt THEN u.acked_at ELSE m.acked_at END
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

    /// One transaction on one pooled connection (within the call's deadline): committed when
    /// `body` returns, rolled back when it throws.
    private func transaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let logger = logger
        return try await withConnection { connection in
            try await connection.query("BEGIN", logger: logger)
            do {
                let value = try await body(connection)
                try await connection.query("COMMIT", logger: logger)
                return value
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }

    /// Runs `body` on a pooled connection within `timeout` (default `settings.timeout`), counted
    /// from the call: waiting for a connection and every statement on it. Past the deadline the
    /// call throws `.storage` at once, whatever the work is doing: the work is cancelled (which
    /// withdraws a wait for a connection) and the connection in use is closed (its statement fails
    /// and the pool replaces the connection). PostgresNIO statements do not react to task
    /// cancellation, and a structured child would make the caller wait for them anyway, so the
    /// work runs in a task of its own and the caller is answered by whichever comes first. No
    /// call goes through `PostgresClient.query`, whose lease is not given back when its row
    /// stream fails before it is handed over.
    func withConnection<T: Sendable>(
        timeout: Duration? = nil, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let timeout = timeout ?? settings.timeout
        let client = client
        let inUse = ConnectionInUse()
        let race = Race<T>()
        let logger = logger
        let started = ContinuousClock.now
        return try await storageErrors {
            try await withCheckedThrowingContinuation { continuation in
                race.start(continuation)
                let timer = Task {
                    try await Task.sleep(for: timeout)
                    if race.finish(.failure(QueueError(.storage, "the database did not answer within \(timeout)"))) {
                        inUse.expire()
                        race.cancelWork()
                    }
                }
                race.work = Task {
                    let result: Result<T, any Error>
                    do {
                        result = .success(try await client.withConnection { connection in
                            try inUse.start(connection)
                            defer { inUse.finish() }
                            return try await body(connection)
                        })
                    } catch {
                        result = .failure(error)
                    }
                    timer.cancel()
                    if !race.finish(result) {
                        logger.warning(
                            "a database call ended after its deadline",
                            metadata: ["seconds": .stringConvertible((ContinuousClock.now - started).components.seconds)])
                    }
                }
            }
        }
    }

    /// Queue errors pass; a unique violation of an envelope id is `.conflict`; anything else
    /// (connection, server) becomes `.storage` with the SQLSTATE only — never SQL arguments or the
    /// server's detail text, which may quote payload values.
    private func storageErrors<T>(_ operation: () async throws -> T) async throws -> T {
        do {
            return try await operation()
        } catch let error as QueueError {
            throw error
        } catch let error as PSQLError {
            let state = error.serverInfo?[.sqlState]
            if state == "23505", error.serverInfo?[.constraintName] == "envelope_pkey" {
                throw QueueError(.conflict, "an envelope id is already stored under another key")
            }
            if let state {
                throw QueueError(.storage, "PostgreSQL error \(state)")
            }
            throw QueueError(.storage, "PostgreSQL connection: \(error.code)")
        } catch is CancellationError {
            throw QueueError(.storage, "cancelled")
        } catch {
            throw QueueError(.storage, String(describing: type(of: error)))
        }
    }

    private static func json(_ value: some Encodable) throws -> String {
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

// MARK: - Rows passed as JSON

private struct EnvelopeRow: Encodable {
    var ord: Int
    var id, kind, record_id, updated_at, payload_digest, destinations, body: String
}

private struct AckRow: Encodable {
    var ord: Int
    var token, outcome: String
    var reason, detail, receipt: String?
}

private struct KeyRow: Encodable {
    var record_id, payload_digest: String
}

private struct HistoryRow: Encodable {
    var message_id: Int64
    var at: Int64
    var event: String
    var delivery_count: Int
    var detail: String?
}

/// A message's new delivery state (and, for acks, its receipt) with the history it produced.
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
    var set_receipt = false
    var receipt: String?
    var acked_at: Int64?
    var history: [HistoryRow]

    init(id: Int64, _ delivery: Delivery, changes: [Delivery.Change], at: Int64) {
        self.id = id
        state = delivery.state.rawValue
        delivery_count = delivery.deliveryCount
        available_at = PostgresMessageQueue.millis(delivery.availableAt)
        lease_token = delivery.leaseToken?.rawValue
        lease_expires_at = delivery.leaseExpiresAt.map(PostgresMessageQueue.millis)
        last_error = delivery.lastError
        outcome = delivery.outcome?.name
        reason = delivery.outcome?.reason
        history = changes.map {
            HistoryRow(message_id: id, at: at, event: $0.event.rawValue, delivery_count: $0.deliveryCount, detail: $0.detail)
        }
    }
}

/// A call's answer: its work's result or its deadline, whichever comes first (once).
private final class Race<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T, any Error>?
    private var task: Task<Void, Never>?
    private var cancelled = false

    func start(_ continuation: CheckedContinuation<T, any Error>) { lock.withLock { self.continuation = continuation } }

    /// The work's task (cancelled at once when the deadline passed before it was set).
    var work: Task<Void, Never>? {
        get { lock.withLock { task } }
        set {
            let cancel = lock.withLock {
                task = newValue
                return cancelled
            }
            if cancel { newValue?.cancel() }
        }
    }

    func cancelWork() {
        let current = lock.withLock {
            cancelled = true
            return task
        }
        current?.cancel()
    }

    /// Answers the caller unless already answered; returns whether this call did.
    @discardableResult
    func finish(_ result: Result<T, any Error>) -> Bool {
        let waiting = lock.withLock {
            defer { continuation = nil }
            return continuation
        }
        waiting?.resume(with: result)
        return waiting != nil
    }
}

/// The connection a call is using, so that its deadline can close it.
private final class ConnectionInUse: @unchecked Sendable {
    private let lock = NSLock()
    private var connection: PostgresConnection?
    private var expired = false

    /// Records the connection; closes it and throws when the deadline has already passed.
    func start(_ connection: PostgresConnection) throws {
        let late = lock.withLock {
            if !expired { self.connection = connection }
            return expired
        }
        if late {
            PostgresMessageQueue.close(connection)
            throw QueueError(.storage, "the call's deadline passed while it waited for a connection")
        }
    }

    func finish() { lock.withLock { connection = nil } }

    /// The deadline passed: closes the connection in use, if any.
    func expire() {
        let current = lock.withLock {
            expired = true
            return connection
        }
        if let current { PostgresMessageQueue.close(current) }
    }


}

/// Lessees waiting in `waitForMessages`, woken by NOTIFY payloads (destination ids).
private final class Waiters: @unchecked Sendable {
    private let lock = NSLock()
    private var waiting: [String: [UUID: CheckedContinuation<Bool, Never>]] = [:]

    func wait(for participant: String, timeout: TimeInterval) async -> Bool {
        let id = UUID()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                lock.withLock { waiting[participant, default: [:]][id] = continuation }
                Task {
                    try? await Task.sleep(nanoseconds: UInt64(max(0, timeout) * 1e9))
                    self.resume(participant, id, with: false)
                }
            }
        } onCancel: {
            self.resume(participant, id, with: false)
        }
    }

    func wake(_ participant: String) {
        let woken = lock.withLock { waiting.removeValue(forKey: participant) ?? [:] }
        for continuation in woken.values { continuation.resume(returning: true) }
    }

    private func resume(_ participant: String, _ id: UUID, with value: Bool) {
        let continuation = lock.withLock { waiting[participant]?.removeValue(forKey: id) }
        continuation?.resume(returning: value)
    }
}
