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
/// **Rules.** Every delivery transition is decided by `QueueDecision` (`QueueStorage+Operations`),
/// as for the other drivers; this type selects rows and writes what was decided.
public final class PostgresMessageQueue: QueueStorage, Sendable {
    public let settings: PostgresQueueSettings
    /// The connection pool; `run()` runs it.
    public let client: PostgresClient
    public let configuration: QueueConfiguration
    private let logger: Logger

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
        _ = try await withConnection { connection in
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
                  RETURNING id
                ), hist AS (
                  INSERT INTO history (message_id, at, event, delivery_count)
                  SELECT id, \(at), 'queued', 0 FROM msg ORDER BY id
                )
                SELECT id FROM env
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

    // MARK: - QueueStorage

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

    // MARK: - Internals

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

/// A call's answer: its work's result or its deadline, whichever comes first (once).
private final class Race<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var task: Task<Void, Never>?
        var cancelled = false
    }

    private let state = Mutex(State())

    func start(_ continuation: CheckedContinuation<T, any Error>) { state.withLock { $0.continuation = continuation } }

    /// The work's task (cancelled at once when the deadline passed before it was set).
    var work: Task<Void, Never>? {
        get { state.withLock { $0.task } }
        set {
            let cancel = state.withLock {
                $0.task = newValue
                return $0.cancelled
            }
            if cancel { newValue?.cancel() }
        }
    }

    func cancelWork() {
        let current = state.withLock {
            $0.cancelled = true
            return $0.task
        }
        current?.cancel()
    }

    /// Answers the caller unless already answered; returns whether this call did.
    @discardableResult
    func finish(_ result: Result<T, any Error>) -> Bool {
        let waiting = state.withLock { state in
            defer { state.continuation = nil }
            return state.continuation
        }
        waiting?.resume(with: result)
        return waiting != nil
    }
}

/// The connection a call is using, so that its deadline can close it.
private final class ConnectionInUse: Sendable {
    private struct State {
        var connection: PostgresConnection?
        var expired = false
    }

    private let state = Mutex(State())

    /// Records the connection; closes it and throws when the deadline has already passed.
    func start(_ connection: PostgresConnection) throws {
        let late = state.withLock {
            if !$0.expired { $0.connection = connection }
            return $0.expired
        }
        if late {
            PostgresMessageQueue.close(connection)
            throw QueueError(.storage, "the call's deadline passed while it waited for a connection")
        }
    }

    func finish() { state.withLock { $0.connection = nil } }

    /// The deadline passed: closes the connection in use, if any.
    func expire() {
        let current = state.withLock {
            $0.expired = true
            return $0.connection
        }
        if let current { PostgresMessageQueue.close(current) }
    }
}
