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

    // MARK: - MessageQueue

    public func enqueue(submitter: String, items: [EnqueueItem]) async throws -> [EnqueuedItem] {
        try QueueValidation.check(submitter: submitter, items: items)
        let at = Self.millis(configuration.clock.now())
        return try await groupWrite { db in try Self.insert(db, submitter: submitter, items: items, at: at) }
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

    /// True (in SQL) when `m.destination` is not an outbox: the byte prefix of `Outbox.isOutbox`
    /// (ASCII, so its first characters are its first bytes).
    static let notOutbox = "substr(m.destination, 1, \(Outbox.prefix.utf8.count)) <> '\(Outbox.prefix)'"

    public func storedEnvelope(id: String) async throws -> StoredEnvelope? {
        try await read { db in
            let select = try RawStatement(db, """
                SELECT submitter, kind, record_id, updated_at, payload_digest, body, destinations FROM envelope WHERE id = ?1
                """)
            select.bind(1, id)
            defer { select.reset() }
            guard try select.step() else { return nil }
            return StoredEnvelope(
                submitter: select.text(0), kind: select.text(1), recordId: select.text(2), updatedAt: select.text(3),
                payloadDigest: select.text(4), envelope: select.bytes(5), destinations: Self.splitDestinations(select.text(6)))
        }
    }

    public func oldestQueued() async throws -> [String: Date] {
        try await read { db in
            // Ids follow enqueue order: the lowest pending id of each destination (from the
            // `message_group` index, which holds exactly the queued and leased messages), then
            // its envelope's enqueue time.
            var oldest: [String: Date] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT o.destination, e.enqueued_at
                FROM (SELECT destination, min(id) AS id FROM message INDEXED BY message_group
                      WHERE state IN ('queued', 'leased') GROUP BY destination) o
                JOIN message m ON m.id = o.id JOIN envelope e ON e.id = m.envelope_id
                """) {
                oldest[row[0]] = Self.date(row[1])
            }
            return oldest
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

    public func purgeAcked(before cutoff: Date, limit: Int, archive: @escaping PurgeArchive) async throws -> Int? {
        let cutoff = Self.millis(cutoff)
        // One process per database file (the server's data-folder lock): no other purger to exclude.
        let settled = try await read { db in try Self.settled(db, before: cutoff, limit: limit) }
        guard !settled.isEmpty else { return 0 }
        try await archive(settled)
        return try await write { db in
            try db.execute(sql: """
                CREATE TEMP TABLE IF NOT EXISTS purged_message (id INTEGER PRIMARY KEY);
                DELETE FROM purged_message;
                """)
            for id in settled.map(\.messageId.rawValue) {
                try db.execute(
                    sql: "INSERT INTO purged_message SELECT id FROM message WHERE id = ? AND state = 'acked' AND acked_at < ?",
                    arguments: [id, cutoff])
            }
            try db.execute(sql: "DELETE FROM history WHERE message_id IN (SELECT id FROM purged_message)")
            try db.execute(sql: """
                CREATE TEMP TABLE IF NOT EXISTS purged_envelope (id TEXT PRIMARY KEY);
                DELETE FROM purged_envelope;
                INSERT OR IGNORE INTO purged_envelope SELECT envelope_id FROM message WHERE id IN (SELECT id FROM purged_message);
                """)
            try db.execute(sql: "DELETE FROM message WHERE id IN (SELECT id FROM purged_message)")
            let purged = db.changesCount
            try db.execute(sql: """
                DELETE FROM envelope WHERE id IN (SELECT id FROM purged_envelope)
                  AND NOT EXISTS (SELECT 1 FROM message WHERE message.envelope_id = envelope.id);
                DELETE FROM purged_envelope;
                DELETE FROM purged_message;
                """)
            return purged
        }
    }

    /// Up to `limit` acked messages acked before `cutoff` (milliseconds), oldest ack first, with
    /// their envelopes, receipts and history (the `queued` event from the envelope's enqueue time,
    /// as `history` gives it).
    private static func settled(_ db: Database, before cutoff: Int64, limit: Int) throws -> [SettledMessage] {
        var settled = try Row.fetchAll(db, sql: """
            SELECT m.id, m.envelope_id, m.destination, m.submitter, e.kind, e.record_id, e.updated_at, e.payload_digest,
                   e.body, e.enqueued_at, m.outcome, m.reason, m.receipt, m.acked_at
            FROM message m JOIN envelope e ON e.id = m.envelope_id
            WHERE m.state = 'acked' AND m.acked_at < ? ORDER BY m.acked_at, m.id LIMIT ?
            """, arguments: [cutoff, limit]
        ).map { row in
            let body: Data = row[8]
            let receipt: Data? = row[12]
            let id = MessageID(row[0])
            let enqueuedAt = date(row[9])
            return SettledMessage(
                messageId: id, envelopeId: row[1], destination: row[2], submitter: row[3], kind: row[4], recordId: row[5],
                updatedAt: row[6], payloadDigest: row[7], envelope: [UInt8](body), enqueuedAt: enqueuedAt,
                outcome: AckOutcome(name: row[10] ?? "accepted", reason: row[11]) ?? .accepted,
                receipt: receipt.map { [UInt8]($0) }, ackedAt: date(row[13] ?? 0),
                history: [HistoryEntry(messageId: id, destination: row[2], event: .queued, at: enqueuedAt, deliveryCount: 0, detail: nil)])
        }
        guard !settled.isEmpty else { return [] }
        var position: [MessageID: Int] = [:]
        for (index, message) in settled.enumerated() { position[message.messageId] = index }
        let ids = settled.map { String($0.messageId.rawValue) }.joined(separator: ",")
        for row in try Row.fetchAll(db, sql: """
            SELECT message_id, event, at, delivery_count, detail FROM history WHERE message_id IN (\(ids)) ORDER BY rowid
            """)
        {
            let id = MessageID(row[0])
            guard let index = position[id], let event = DeliveryEvent(rawValue: row[1]) else { continue }
            settled[index].history.append(HistoryEntry(
                messageId: id, destination: settled[index].destination, event: event, at: date(row[2]),
                deliveryCount: row[3], detail: row[4]))
        }
        return settled
    }

    public func ping() async throws {
        try await read { db in _ = try Int.fetchOne(db, sql: "SELECT 1") }
    }

    /// Runs `PRAGMA integrity_check`; returns "ok" when the file is sound.
    public func integrityCheck() async throws -> String {
        try await read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") ?? "" }
    }

    // MARK: - Internals

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

    private static func receipts(_ db: Database, where condition: String, orderedBy order: String, arguments: StatementArguments) throws -> [StoredReceipt] {
        try Row.fetchAll(db, sql: """
            SELECT m.id, m.envelope_id, m.destination, m.record_id, m.outcome, m.reason, m.receipt, m.acked_at
            FROM message m WHERE \(condition) AND \(notOutbox) ORDER BY \(order)
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
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await Self.storageErrors { try await pool.write(body) }
    }

    /// Like `write`, but merged with concurrent calls into one transaction (`GroupCommitter`).
    func groupWrite<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await Self.storageErrors { try await committer.write(body) }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
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
