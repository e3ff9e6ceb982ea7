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
public final class SQLiteMessageQueue: MessageQueue, Sendable {
    public enum Synchronous: String, Sendable {
        case full = "FULL"
        case normal = "NORMAL"
    }

    public let path: String
    private let pool: DatabasePool
    private let committer: GroupCommitter
    private let configuration: QueueConfiguration

    /// Opens (creating and migrating when needed) the queue database at `path`.
    public init(path: String, configuration: QueueConfiguration = QueueConfiguration(), synchronous: Synchronous = .full) throws {
        self.path = path
        self.configuration = configuration
        var config = Configuration()
        config.busyMode = .timeout(10)
        do {
            pool = try DatabasePool(path: path, configuration: config)
            // Set on the one writer connection, after GRDB's own WAL set-up (which chooses NORMAL).
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = \(synchronous.rawValue)")
                // 64 MiB of page cache for the writer: index pages stay in memory instead of being
                // read back from the OS on every insert.
                try db.execute(sql: "PRAGMA cache_size = -65536")
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
        return migrator
    }

    // MARK: - MessageQueue

    public func enqueue(submitter: String, items: [EnqueueItem]) async throws -> [EnqueuedItem] {
        try QueueValidation.check(submitter: submitter, items: items)
        let at = Self.millis(configuration.clock.now())
        return try await groupWrite { db in
            let findKey = try db.cachedStatement(sql: """
                SELECT id, destinations FROM envelope WHERE submitter = ? AND record_id = ? AND payload_digest = ?
                """)
            // A known (submitter, record, digest) key stores nothing (and is answered below); a
            // known envelope id under another key fails on the primary key.
            let insertEnvelope = try db.cachedStatement(sql: """
                INSERT INTO envelope (id, submitter, kind, record_id, updated_at, payload_digest, destinations, body, enqueued_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (submitter, record_id, payload_digest) DO NOTHING
                """)
            let insertMessage = try db.cachedStatement(sql: """
                INSERT INTO message (envelope_id, destination, submitter, record_id, updated_at, state, delivery_count, available_at)
                VALUES (?, ?, ?, ?, ?, 'queued', 0, ?)
                """)
            func duplicate(of item: EnqueueItem) throws -> EnqueuedItem? {
                guard let row = try Row.fetchOne(findKey, arguments: [submitter, item.recordId, item.payloadDigest]) else { return nil }
                return EnqueuedItem(envelopeId: row[0], destinations: Self.splitDestinations(row[1]), duplicate: true)
            }
            var results: [EnqueuedItem] = []
            results.reserveCapacity(items.count)
            for item in items {
                do {
                    try insertEnvelope.execute(arguments: [
                        item.envelopeId, submitter, item.kind, item.recordId, item.updatedAt, item.payloadDigest,
                        item.destinations.joined(separator: "\n"), Data(item.envelope), at,
                    ])
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
                for destination in item.destinations {
                    try insertMessage.execute(arguments: [
                        item.envelopeId, destination, submitter, item.recordId, item.updatedAt, at,
                    ])
                    try Self.record(db, message: db.lastInsertedRowID, [Delivery.Change(.queued, 0)], at: at)
                }
                results.append(EnqueuedItem(envelopeId: item.envelopeId, destinations: item.destinations, duplicate: false))
            }
            return results
        }
    }

    public func lease(participant: String, max: Int, visibility: TimeInterval) async throws -> [LeasedMessage] {
        try QueueValidation.check(max: max, visibility: visibility)
        let now = configuration.clock.now()
        let configuration = configuration
        return try await groupWrite { db in
            try Self.reclaim(db, participant: participant, now: now, configuration: configuration)
            let select = try db.cachedStatement(sql: Self.leaseSQL)
            let rows = try Row.fetchAll(select, arguments: [participant, Self.millis(now), max])
            var leased: [LeasedMessage] = []
            leased.reserveCapacity(rows.count)
            for row in rows {
                let id: Int64 = row[0]
                var delivery = Self.delivery(row)
                let token = LeaseToken.random()
                let changes = try delivery.lease(token: token, now: now, visibility: visibility)
                try Self.store(db, id: id, delivery)
                try Self.record(db, message: id, changes, at: Self.millis(now))
                let body: Data = row[15]
                leased.append(LeasedMessage(
                    messageId: MessageID(id), envelopeId: row[9], destination: participant, submitter: row[10],
                    kind: row[13], recordId: row[11], updatedAt: row[12], payloadDigest: row[14],
                    envelope: [UInt8](body), deliveryCount: delivery.deliveryCount, leaseToken: token,
                    leaseExpiresAt: Self.date(Self.millis(delivery.leaseExpiresAt ?? now))))
            }
            return leased
        }
    }

    public func ack(participant: String, _ acknowledgements: [Acknowledgement]) async throws -> [QueueError?] {
        let now = configuration.clock.now()
        return try await groupWrite { db in
            let select = try db.cachedStatement(sql: """
                SELECT \(Self.deliveryColumns("m")), m.destination FROM message m WHERE m.lease_token = ?
                """)
            // One UPDATE per ack: the acked state, outcome and receipt together.
            let storeAck = try db.cachedStatement(sql: """
                UPDATE message SET state = ?, lease_token = NULL, lease_expires_at = NULL, outcome = ?, reason = ?,
                  receipt = ?, acked_at = ? WHERE id = ?
                """)
            return try acknowledgements.map { ack -> QueueError? in
                guard let row = try Row.fetchOne(select, arguments: [ack.leaseToken.rawValue]),
                    row[9] as String == participant
                else { return QueueError(.staleLease, "the lease is not current") }
                let id: Int64 = row[0]
                var delivery = Self.delivery(row)
                let changes: [Delivery.Change]
                do {
                    changes = try delivery.ack(token: ack.leaseToken, outcome: ack.outcome, now: now)
                } catch let error as QueueError {
                    return error
                }
                try storeAck.execute(arguments: [
                    delivery.state.rawValue, delivery.outcome?.name, delivery.outcome?.reason, ack.receipt.map { Data($0) },
                    Self.millis(now), id,
                ])
                try Self.record(db, message: id, changes, at: Self.millis(now))
                return nil
            }
        }
    }

    public func nack(participant: String, leaseToken: LeaseToken, error: String) async throws {
        let now = configuration.clock.now()
        let configuration = configuration
        try await groupWrite { db in
            guard let row = try Row.fetchOne(db, sql: """
                    SELECT \(Self.deliveryColumns("m")), m.destination FROM message m WHERE m.lease_token = ?
                    """, arguments: [leaseToken.rawValue]),
                row[9] as String == participant
            else { throw QueueError(.staleLease, "the lease is not current") }
            let id: Int64 = row[0]
            var delivery = Self.delivery(row)
            let changes = try delivery.nack(
                token: leaseToken, error: error, now: now, policy: configuration.retry, random: configuration.random())
            try Self.store(db, id: id, delivery, diedAt: delivery.state == .dead ? Self.millis(now) : nil)
            try Self.record(db, message: id, changes, at: Self.millis(now))
        }
    }

    public func reclaimExpired() async throws -> Int {
        let now = configuration.clock.now()
        let configuration = configuration
        return try await write { db in
            let participants = try String.fetchAll(db, sql: """
                SELECT DISTINCT destination FROM message INDEXED BY message_leased
                WHERE state = 'leased' AND lease_expires_at <= ?
                """, arguments: [Self.millis(now)])
            return try participants.reduce(0) { count, participant in
                try count + Self.reclaim(db, participant: participant, now: now, configuration: configuration)
            }
        }
    }

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

    public func replay(messageId: MessageID) async throws {
        let now = configuration.clock.now()
        try await write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT \(Self.deliveryColumns("m")) FROM message m WHERE m.id = ?",
                arguments: [messageId.rawValue])
            else { throw QueueError(.notFound, "no message \(messageId)") }
            var delivery = Self.delivery(row)
            let changes = try delivery.replay(now: now)
            try Self.store(db, id: messageId.rawValue, delivery)
            try Self.record(db, message: messageId.rawValue, changes, at: Self.millis(now))
        }
    }

    public func history(envelopeId: String) async throws -> [HistoryEntry] {
        try await read { db in
            try Row.fetchAll(db, sql: """
                SELECT h.message_id, m.destination, h.event, h.at, h.delivery_count, h.detail
                FROM message m JOIN history h ON h.message_id = m.id
                WHERE m.envelope_id = ? ORDER BY h.rowid
                """, arguments: [envelopeId]
            ).compactMap { row in
                guard let event = DeliveryEvent(rawValue: row[2]) else { return nil }
                return HistoryEntry(
                    messageId: MessageID(row[0]), destination: row[1], event: event, at: Self.date(row[3]),
                    deliveryCount: row[4], detail: row[5])
            }
        }
    }

    public func depths() async throws -> [String: QueueDepth] {
        _ = try await reclaimExpired()
        return try await read { db in
            var depths: [String: QueueDepth] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT destination, state, count(*) FROM message GROUP BY destination, state") {
                let destination: String = row[0]
                let count: Int = row[2]
                switch DeliveryState(rawValue: row[1]) {
                case .queued: depths[destination, default: QueueDepth()].queued += count
                case .leased: depths[destination, default: QueueDepth()].leased += count
                case .dead: depths[destination, default: QueueDepth()].dead += count
                case .acked: depths[destination, default: QueueDepth()].acked += count
                case nil: break
                }
            }
            return depths
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
        SELECT \(deliveryColumns("m")), m.envelope_id, m.submitter, m.record_id, m.updated_at,
               e.kind, e.payload_digest, e.body
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

    /// Columns 0…8 of every row that `delivery(_:)` reads.
    private static func deliveryColumns(_ table: String) -> String {
        ["id", "state", "delivery_count", "available_at", "lease_token", "lease_expires_at", "last_error", "outcome", "reason"]
            .map { "\(table).\($0)" }.joined(separator: ", ")
    }

    private static func delivery(_ row: Row) -> Delivery {
        let token: String? = row[4]
        let expiry: Int64? = row[5]
        let outcome: String? = row[7]
        return Delivery(
            state: DeliveryState(rawValue: row[1]) ?? .queued, deliveryCount: row[2], availableAt: date(row[3]),
            leaseToken: token.map(LeaseToken.init), leaseExpiresAt: expiry.map(date), lastError: row[6],
            outcome: outcome.flatMap { AckOutcome(name: $0, reason: row[8]) })
    }

    private static func store(_ db: Database, id: Int64, _ delivery: Delivery, diedAt: Int64? = nil) throws {
        let update = try db.cachedStatement(sql: """
            UPDATE message SET state = ?, delivery_count = ?, available_at = ?, lease_token = ?, lease_expires_at = ?,
              last_error = ?, outcome = ?, reason = ?, died_at = ? WHERE id = ?
            """)
        try update.execute(arguments: [
            delivery.state.rawValue, delivery.deliveryCount, millis(delivery.availableAt), delivery.leaseToken?.rawValue,
            delivery.leaseExpiresAt.map(millis), delivery.lastError, delivery.outcome?.name, delivery.outcome?.reason,
            diedAt, id,
        ])
    }

    private static func record(_ db: Database, message id: Int64, _ changes: [Delivery.Change], at: Int64) throws {
        let insert = try db.cachedStatement(sql: """
            INSERT INTO history (message_id, at, event, delivery_count, detail) VALUES (?, ?, ?, ?, ?)
            """)
        for change in changes {
            try insert.execute(arguments: [id, at, change.event.rawValue, change.deliveryCount, change.detail])
        }
    }

    @discardableResult
    private static func reclaim(_ db: Database, participant: String, now: Date, configuration: QueueConfiguration) throws -> Int {
        let select = try db.cachedStatement(sql: """
            SELECT \(deliveryColumns("m")) FROM message m INDEXED BY message_leased
            WHERE m.destination = ? AND m.state = 'leased' AND m.lease_expires_at <= ?
            """)
        let rows = try Row.fetchAll(select, arguments: [participant, millis(now)])
        for row in rows {
            let id: Int64 = row[0]
            var delivery = Self.delivery(row)
            let changes = delivery.expireIfDue(now: now, policy: configuration.retry, random: configuration.random())
            guard !changes.isEmpty else { continue }
            try store(db, id: id, delivery, diedAt: delivery.state == .dead ? millis(now) : nil)
            try record(db, message: id, changes, at: millis(now))
        }
        return rows.count
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
