import Foundation
import GatewayQueue
import Logging
import PostgresNIO

/// The schema, created and upgraded by `migrate()`.
extension PostgresMessageQueue {
    /// Schema versions, applied in order, each once, in one transaction with its `schema_migrations` row.
    public static let migrations: [(version: Int, sql: [String])] = [
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
        // At an outbox a dead message holds its FIFO group: lease probes the dead messages of a
        // group before a candidate.
        (2, [
            """
            CREATE INDEX message_dead_group ON message(destination, record_id, updated_at, id) WHERE state = 'dead'
            """,
        ]),
        // The message search (`searchHeaders`, the console's browser) leads with an index for each
        // filter that narrows: a participant's messages as destination and as submitter (newest id
        // first), a record's envelopes, and the unsettled messages.
        (3, [
            "CREATE INDEX message_destination ON message(destination, id)",
            "CREATE INDEX message_submitter ON message(submitter, id)",
            "CREATE INDEX envelope_record ON envelope(record_id)",
            "CREATE INDEX envelope_enqueued ON envelope(enqueued_at)",
            "CREATE INDEX message_unsettled ON message(id) WHERE state IN ('dead', 'leased', 'queued')",
        ]),
        // A lease and an ack in one round trip each (PostgresMessageQueue+Procedures.swift). Version 4:
        // the message search's indexes were written as version 3 at the same time.
        (4, procedures),
        // An enqueue in one round trip (PostgresMessageQueue+Enqueue.swift).
        (5, enqueueProcedures),
        // Its answer without a plan that reads the table (PostgresMessageQueue+Enqueue.swift).
        (6, enqueueRowsPlanned),
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

    /// The indexes migration 3 made for the message search alone: every enqueue and every state
    /// change writes them too.
    public static let searchIndexes = [
        "message_destination", "message_submitter", "envelope_record", "envelope_enqueued", "message_unsettled",
    ]

    /// Drops `searchIndexes` (a benchmark's scratch schema, to measure what they cost).
    public func dropSearchIndexes() async throws {
        let logger = logger
        let sql = "DROP INDEX " + Self.searchIndexes.joined(separator: ", ")
        _ = try await withConnection { connection in
            try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
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
}
