import Foundation
import GRDB
import GatewayQueue

/// The embedded SQLite driver (GRDB, WAL).
///
/// **Durability.** The database runs in WAL mode with `synchronous = FULL` by default: every
/// commit fsyncs the WAL before `enqueue`/`ack` return, so a returned enqueue survives `kill -9`
/// *and* a power loss or kernel crash. `synchronous = NORMAL` (`Synchronous.normal`) would already
/// survive `kill -9` — in WAL mode a commit is in the WAL file (the OS page cache) before it
/// returns, and the OS writes it out even if the process dies — but not a power loss, which can
/// roll back the last commits. Because every call is one transaction (group commit: a document's
/// 100 envelopes, a batch of 100 acks = one fsync), FULL costs one fsync per *call*, not per
/// record, so we keep the stronger guarantee by default.
///
/// **Lease cost.** Lease walks the partial index `message_ready (destination, available_at, id)
/// WHERE state = 'queued'` from the start of the destination's available messages and checks each
/// candidate's FIFO group with one probe of `message_group (destination, record_id, updated_at,
/// id) WHERE state IN ('queued','leased')`: O(log n) per returned message, plus one probe per
/// queued message that it skips because an earlier message of its recordId is in flight.
public final class SQLiteMessageQueue: QueueStorage, Sendable {
    public enum Synchronous: String, Sendable {
        case full = "FULL"
        case normal = "NORMAL"
    }

    public let path: String
    private let pool: DatabasePool
    private let committer: GroupCommitter
    public let configuration: QueueConfiguration

    /// Opens (creating and migrating when needed) the queue database at `path`.
    public init(path: String, configuration: QueueConfiguration = QueueConfiguration(), synchronous: Synchronous = .full) throws {
        self.path = path
        self.configuration = configuration
        var config = Configuration()
        config.busyMode = .timeout(10)
        // 8 KiB pages for a new file (an existing file keeps its own): a 2 KiB envelope row
        // leaves half of a 4 KiB page unused (one row per page), so 4 KiB pages wrote ~4.5 KiB
        // per enqueued message and 8 KiB pages ~3.1 KiB.
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA page_size = 8192") }
        do {
            pool = try DatabasePool(path: path, configuration: config)
            // Set on the one writer connection, after GRDB's own WAL set-up (which chooses NORMAL).
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = \(synchronous.rawValue)")
                // Statement journals (the savepoints of group commit) in memory, not in temp files
                // opened and deleted per transaction.
                try db.execute(sql: "PRAGMA temp_store = MEMORY")
                // The page cache stays at SQLite's default 2 MiB: at every commit SQLite walks the
                // whole cache (pcache1TruncateUnsafe), which with 64 MiB cost ~8% of the CPU of
                // enqueue and lease+ack; pages missing from it come from the OS page cache.
            }
            try Self.migrator.migrate(pool)
            committer = GroupCommitter(pool: pool)
        } catch {
            throw QueueError(.storage, "cannot open the queue database: \(Self.describe(error))")
        }
    }

    // MARK: - Schema

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE envelope (
                  id TEXT PRIMARY KEY,
                  submitter TEXT NOT NULL,
                  kind TEXT NOT NULL,
                  record_id TEXT NOT NULL,
                  updated_at TEXT NOT NULL,
                  payload_digest TEXT NOT NULL,
                  destinations TEXT NOT NULL,
                  body BLOB NOT NULL,
                  enqueued_at INTEGER NOT NULL,
                  UNIQUE (submitter, record_id, payload_digest)
                );
                CREATE TABLE message (
                  id INTEGER PRIMARY KEY AUTOINCREMENT,
                  envelope_id TEXT NOT NULL REFERENCES envelope(id),
                  destination TEXT NOT NULL,
                  submitter TEXT NOT NULL,
                  record_id TEXT NOT NULL,
                  updated_at TEXT NOT NULL,
                  state TEXT NOT NULL,
                  delivery_count INTEGER NOT NULL,
                  available_at INTEGER NOT NULL,
                  lease_token TEXT,
                  lease_expires_at INTEGER,
                  last_error TEXT,
                  outcome TEXT,
                  reason TEXT,
                  receipt BLOB,
                  acked_at INTEGER,
                  died_at INTEGER
                );
                CREATE INDEX message_envelope ON message(envelope_id);
                CREATE INDEX message_ready ON message(destination, available_at, id) WHERE state = 'queued';
                CREATE INDEX message_group ON message(destination, record_id, updated_at, id)
                  WHERE state IN ('queued', 'leased');
                CREATE INDEX message_leased ON message(destination, lease_expires_at) WHERE state = 'leased';
                CREATE UNIQUE INDEX message_token ON message(lease_token) WHERE lease_token IS NOT NULL;
                CREATE INDEX message_acked ON message(submitter, acked_at) WHERE state = 'acked';
                CREATE INDEX message_dead ON message(destination, died_at) WHERE state = 'dead';
                CREATE TABLE history (
                  message_id INTEGER NOT NULL,
                  at INTEGER NOT NULL,
                  event TEXT NOT NULL,
                  delivery_count INTEGER NOT NULL,
                  detail TEXT
                );
                CREATE INDEX history_message ON history(message_id);
                """)
        }
        // v2: `queued` events are no longer stored (history derives them from envelope.enqueued_at).
        migrator.registerMigration("v2-implicit-queued") { db in
            try db.execute(sql: "DELETE FROM history WHERE event = 'queued'")
        }
        return migrator
    }

    // MARK: - MessageQueue

    public func enqueue(submitter: String, items: [EnqueueItem]) async throws -> [EnqueuedItem] {
        try QueueValidation.check(submitter: submitter, items: items)
        let at = Self.millis(configuration.clock.now())
        return try await groupWrite { db in
            let findKey = try RawStatement(db, """
                SELECT id, destinations FROM envelope WHERE submitter = ?1 AND record_id = ?2 AND payload_digest = ?3
                """)
            // A known (submitter, record, digest) key stores nothing (and is answered below); a
            // known envelope id under another key fails on the primary key.
            let insertEnvelope = try RawStatement(db, """
                INSERT INTO envelope (id, submitter, kind, record_id, updated_at, payload_digest, destinations, body, enqueued_at)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                ON CONFLICT (submitter, record_id, payload_digest) DO NOTHING
                """)
            // The message's `queued` event is implicit: `history` derives it from the envelope's
            // enqueued_at (one history row less per message).
            let insertMessage = try RawStatement(db, """
                INSERT INTO message (envelope_id, destination, submitter, record_id, updated_at, state, delivery_count, available_at)
                VALUES (?1, ?2, ?3, ?4, ?5, 'queued', 0, ?6)
                """)
            findKey.bind(1, submitter)
            insertEnvelope.bind(2, submitter)
            insertEnvelope.bind(9, at)
            insertMessage.bind(3, submitter)
            insertMessage.bind(6, at)
            func duplicate(of item: EnqueueItem) throws -> EnqueuedItem? {
                findKey.bind(2, item.recordId)
                findKey.bind(3, item.payloadDigest)
                defer { findKey.reset() }
                guard try findKey.step() else { return nil }
                return EnqueuedItem(envelopeId: findKey.text(0), destinations: Self.splitDestinations(findKey.text(1)), duplicate: true)
            }
            var results: [EnqueuedItem] = []
            results.reserveCapacity(items.count)
            for item in items {
                insertEnvelope.bind(1, item.envelopeId)
                insertEnvelope.bind(3, item.kind)
                insertEnvelope.bind(4, item.recordId)
                insertEnvelope.bind(5, item.updatedAt)
                insertEnvelope.bind(6, item.payloadDigest)
                insertEnvelope.bind(7, item.destinations.count == 1 ? item.destinations[0] : item.destinations.joined(separator: "\n"))
                insertEnvelope.bind(8, bytes: item.envelope)
                do {
                    try insertEnvelope.run()
                } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY {
                    // The same envelope again under the same key is a plain duplicate.
                    if let first = try duplicate(of: item), first.envelopeId == item.envelopeId {
                        results.append(first)
                        continue
                    }
                    throw QueueError(.conflict, "envelope \(item.envelopeId) is already stored under another key")
                }
                if db.changesCount == 0, let first = try duplicate(of: item) {
                    results.append(first)
                    continue
                }
                insertMessage.bind(1, item.envelopeId)
                insertMessage.bind(4, item.recordId)
                insertMessage.bind(5, item.updatedAt)
                for destination in item.destinations {
                    insertMessage.bind(2, destination)
                    try insertMessage.run()
                }
                results.append(EnqueuedItem(envelopeId: item.envelopeId, destinations: item.destinations, duplicate: false))
            }
            return results
        }
    }

    // MARK: - QueueStorage

    public func update<Output: Sendable>(at now: Date, first: QueueStep<Int>?, _ step: QueueStep<Output>) async throws -> Output {
        try await groupWrite { db in
            if let first { try Self.run(first, db, now: now) }
            return try Self.run(step, db, now: now)
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

    // MARK: - Reads

    public func receipts(submitter: String, since: Date, limit: Int) async throws -> [StoredReceipt] {
        try await read { db in
            try Self.receipts(db, where: "m.submitter = ? AND m.state = 'acked' AND m.acked_at > ?",
                orderedBy: "m.acked_at, m.id LIMIT ?", arguments: [submitter, Self.millis(since), limit])
        }
    }

    public func receipts(envelopeId: String) async throws -> [StoredReceipt] {
        try await read { db in
            try Self.receipts(db, where: "m.envelope_id = ? AND m.state = 'acked'", orderedBy: "m.id", arguments: [envelopeId])
        }
    }

    public func deadLetters(participant: String, limit: Int) async throws -> [DeadLetter] {
        try await read { db in
            try Row.fetchAll(db, sql: """
                SELECT id, envelope_id, destination, submitter, record_id, delivery_count, last_error, died_at
                FROM message WHERE destination = ? AND state = 'dead' ORDER BY died_at, id LIMIT ?
                """, arguments: [participant, limit]
            ).map { row in
                DeadLetter(
                    messageId: MessageID(row[0]), envelopeId: row[1], destination: row[2], submitter: row[3],
                    recordId: row[4], deliveryCount: row[5], lastError: row[6], diedAt: Self.date(row[7] ?? 0))
            }
        }
    }

    public func history(envelopeId: String) async throws -> [HistoryEntry] {
        try await read { db in
            // Each message's `queued` event comes from the envelope's enqueue time (enqueue writes
            // no history row for it), before every recorded change.
            try Row.fetchAll(db, sql: """
                SELECT m.id, m.destination, 'queued', e.enqueued_at, 0, NULL, 0 AS part, m.id AS position
                FROM message m JOIN envelope e ON e.id = m.envelope_id WHERE m.envelope_id = ?1
                UNION ALL
                SELECT h.message_id, m.destination, h.event, h.at, h.delivery_count, h.detail, 1, h.rowid
                FROM message m JOIN history h ON h.message_id = m.id WHERE m.envelope_id = ?1
                ORDER BY part, position
                """, arguments: [envelopeId]
            ).compactMap { row in
                guard let event = DeliveryEvent(rawValue: row[2]) else { return nil }
                return HistoryEntry(
                    messageId: MessageID(row[0]), destination: row[1], event: event, at: Self.date(row[3]),
                    deliveryCount: row[4], detail: row[5])
            }
        }
    }

    public func purgeAcked(before cutoff: Date) async throws -> Int {
        try await write { db in
            let old = "SELECT id FROM message WHERE state = 'acked' AND acked_at < ?"
            let arguments: StatementArguments = [Self.millis(cutoff)]
            try db.execute(sql: "DELETE FROM history WHERE message_id IN (\(old))", arguments: arguments)
            try db.execute(sql: """
                CREATE TEMP TABLE IF NOT EXISTS purged_envelope (id TEXT PRIMARY KEY);
                DELETE FROM purged_envelope;
                """)
            try db.execute(sql: "INSERT OR IGNORE INTO purged_envelope SELECT envelope_id FROM message WHERE id IN (\(old))",
                arguments: arguments)
            try db.execute(sql: "DELETE FROM message WHERE id IN (\(old))", arguments: arguments)
            let purged = db.changesCount
            try db.execute(sql: """
                DELETE FROM envelope WHERE id IN (SELECT id FROM purged_envelope)
                  AND NOT EXISTS (SELECT 1 FROM message WHERE message.envelope_id = envelope.id);
                DELETE FROM purged_envelope;
                """)
            return purged
        }
    }

    public func ping() async throws {
        try await read { db in _ = try Int.fetchOne(db, sql: "SELECT 1") }
    }

    /// Runs `PRAGMA integrity_check`; returns "ok" when the file is sound.
    public func integrityCheck() async throws -> String {
        try await read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") ?? "" }
    }

    // MARK: - Internals

    /// The FIFO-group rule of `LeaseSelection` in SQL: queued, available messages of the
    /// destination (`message_ready`) with no pending message of their group before them and none
    /// of their group leased (`message_group`). Arguments: destination, now (ms), max.
    static let leaseSQL = """
        SELECT \(contentColumns)
        FROM message m INDEXED BY message_ready JOIN envelope e ON e.id = m.envelope_id
        WHERE m.destination = ?1 AND m.state = 'queued' AND m.available_at <= ?2
          AND NOT EXISTS (
            SELECT 1 FROM message p INDEXED BY message_group
            WHERE p.destination = ?1 AND p.record_id = m.record_id AND p.state IN ('queued', 'leased')
              AND (p.state = 'leased' OR p.updated_at < m.updated_at
                   OR (p.updated_at = m.updated_at AND p.id < m.id)))
        ORDER BY m.available_at, m.id
        LIMIT ?3
        """

    /// SQLite's plan for `sql` (EXPLAIN QUERY PLAN details), for tests that pin index use.
    func queryPlan(_ sql: String, arguments: StatementArguments = StatementArguments()) async throws -> [String] {
        try await read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: arguments).map { $0["detail"] as String }
        }
    }

    /// `PRAGMA name` as text, for tests of the connection settings.
    func pragma(_ name: String) async throws -> String {
        try await write { db in try String.fetchOne(db, sql: "PRAGMA \(name)") ?? "" }
    }

    /// Columns 0…9 of every selected row (`message(_:)`): the delivery state and the destination.
    private static let messageColumns =
        ["id", "state", "delivery_count", "available_at", "lease_token", "lease_expires_at", "last_error", "outcome", "reason",
         "destination"].map { "m.\($0)" }.joined(separator: ", ")

    /// `messageColumns` and columns 10…16 with the envelope (message `m` joined with envelope `e`).
    private static let contentColumns =
        messageColumns + ", m.envelope_id, m.submitter, m.record_id, m.updated_at, e.kind, e.payload_digest, e.body"

    /// The rows of a selection (`QueueSelection`), with their content when `content` is true
    /// (always for `.leasable`).
    private static func rows(_ db: Database, _ selection: QueueSelection, now: Date, content: Bool) throws -> [StoredMessage] {
        let columns = content ? contentColumns : messageColumns
        let from = content ? "message m JOIN envelope e ON e.id = m.envelope_id" : "message m"
        let select: RawStatement
        var withContent = content
        switch selection {
        case .expiredLeases(let participant?):
            select = try RawStatement(db, """
                SELECT \(columns) FROM \(from.replacingOccurrences(of: "message m", with: "message m INDEXED BY message_leased"))
                WHERE m.destination = ?1 AND m.state = 'leased' AND m.lease_expires_at <= ?2
                """)
            select.bind(1, participant)
            select.bind(2, millis(now))
        case .expiredLeases(nil):
            select = try RawStatement(db, """
                SELECT \(columns) FROM \(from) WHERE m.state = 'leased' AND m.lease_expires_at <= ?2 ORDER BY m.id
                """)
            select.bind(2, millis(now))
        case .leasable(let participant, let max):
            select = try RawStatement(db, leaseSQL)
            select.bind(1, participant)
            select.bind(2, millis(now))
            select.bind(3, Int64(max))
            withContent = true
        case .leaseHolders(let participant, let tokens):
            select = try RawStatement(db, "SELECT \(columns) FROM \(from) WHERE m.lease_token = ?1 AND m.destination = ?2")
            select.bind(2, participant)
            var rows: [StoredMessage] = []
            for token in tokens {
                select.bind(1, token.rawValue)
                defer { select.reset() }
                if try select.step() { rows.append(message(select, content: content)) }
            }
            return rows
        case .message(let id):
            select = try RawStatement(db, "SELECT \(columns) FROM \(from) WHERE m.id = ?1")
            select.bind(1, id.rawValue)
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
    /// outcome and receipt, any other change the whole delivery state.
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

    private static func receipts(_ db: Database, where condition: String, orderedBy order: String, arguments: StatementArguments) throws -> [StoredReceipt] {
        try Row.fetchAll(db, sql: """
            SELECT m.id, m.envelope_id, m.destination, m.record_id, m.outcome, m.reason, m.receipt, m.acked_at
            FROM message m WHERE \(condition) ORDER BY \(order)
            """, arguments: arguments
        ).map { row in
            let receipt: Data? = row[6]
            return StoredReceipt(
                messageId: MessageID(row[0]), envelopeId: row[1], destination: row[2], recordId: row[3],
                outcome: AckOutcome(name: row[4] ?? "accepted", reason: row[5]) ?? .accepted,
                receipt: receipt.map { [UInt8]($0) }, ackedAt: date(row[7] ?? 0))
        }
    }

    /// One write transaction (one commit, one WAL fsync with `synchronous = FULL`).
    private func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await Self.storageErrors { try await pool.write(body) }
    }

    /// Like `write`, but merged with concurrent calls into one transaction (`GroupCommitter`).
    private func groupWrite<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await Self.storageErrors { try await committer.write(body) }
    }

    private func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await Self.storageErrors { try await pool.read(body) }
    }

    /// Queue errors pass; anything else (SQLite, I/O) becomes `.storage` without SQL arguments.
    private static func storageErrors<T>(_ operation: () async throws -> T) async throws -> T {
        do {
            return try await operation()
        } catch let error as QueueError {
            throw error
        } catch {
            throw QueueError(.storage, describe(error))
        }
    }

    /// An error's code and SQLite message, never the SQL arguments (which may hold payloads).
    private static func describe(_ error: any Error) -> String {
        if let error = error as? DatabaseError {
            return "SQLite error \(error.resultCode.rawValue): \(error.message ?? "")"
        }
        return String(describing: type(of: error))
    }

    static func millis(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded(.down)) }
    static func date(_ millis: Int64) -> Date { Date(timeIntervalSince1970: Double(millis) / 1000) }
    static func splitDestinations(_ text: String) -> [String] { text.split(separator: "\n").map(String.init) }
}
