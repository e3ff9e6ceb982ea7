import GRDB
import GatewayQueue

/// Storing a document's items: `enqueue`, and the envelope an ack forwards.
///
/// **Multi-row statements.** Inside a transaction SQLite runs every INSERT under a statement
/// journal (an INSERT may abort halfway on a constraint), and the first change a statement makes
/// to a page copies the whole page (8 KiB) into that journal, even when the transaction has
/// written the page before. Envelope and message rows touch about a dozen b-trees (two tables,
/// ten indexes), so one statement per row copied ~100 KiB per record; one statement for up to
/// `rowsPerStatement` rows copies each page once per statement. Measured with the queue's schema
/// (100-record documents, 2.3 KB bodies): 55 → 31-35 µs of CPU per record.
extension SQLiteMessageQueue {
    /// Rows per multi-row INSERT at most; a batch of n rows takes one statement per bit of n
    /// (100 = 64 + 32 + 4), so at most 8 statements of each kind are cached per connection.
    static let rowsPerStatement = 128

    /// Stores `items` in the current transaction and answers each, in order: a known
    /// (submitter, recordId, payloadDigest) key stores nothing and is answered as a duplicate of
    /// the envelope stored under it; a known envelope id under another key throws `.conflict`.
    static func insert(_ db: Database, submitter: String, items: [EnqueueItem], at: Int64) throws -> [EnqueuedItem] {
        // Per item: nil while undecided, then its answer (duplicate or stored).
        var answers = [EnqueuedItem?](repeating: nil, count: items.count)
        var stored: [Int] = []
        stored.reserveCapacity(items.count)
        var lookup: RawStatement?
        func duplicate(of item: EnqueueItem) throws -> EnqueuedItem? {
            let findKey = try lookup ?? RawStatement(db, """
                SELECT id, destinations FROM envelope WHERE submitter = ?1 AND record_id = ?2 AND payload_digest = ?3
                """)
            lookup = findKey
            findKey.bind(1, submitter)
            findKey.bind(2, item.recordId)
            findKey.bind(3, item.payloadDigest)
            defer { findKey.reset() }
            guard try findKey.step() else { return nil }
            return EnqueuedItem(envelopeId: findKey.text(0), destinations: splitDestinations(findKey.text(1)), duplicate: true)
        }

        for chunk in chunks(items.count) {
            var inserted: Set<String>
            do {
                inserted = try insertEnvelopes(db, submitter: submitter, items[chunk], at: at)
            } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
                // An envelope id already stored: the statement changed nothing; row by row, to
                // tell a plain duplicate (same envelope, same key) from a conflict.
                for index in chunk {
                    let item = items[index]
                    switch try insertEnvelopeAlone(db, submitter: submitter, item, at: at) {
                    case .stored:
                        stored.append(index)
                    case .keyKnown:
                        guard let first = try duplicate(of: item) else {
                            throw QueueError(.storage, "envelope \(item.envelopeId) was neither stored nor found under its key")
                        }
                        answers[index] = first
                    case .idKnown:
                        // The same envelope again under the same key is a plain duplicate.
                        guard let first = try duplicate(of: item), first.envelopeId == item.envelopeId else {
                            throw QueueError(.conflict, "envelope \(item.envelopeId) is already stored under another key")
                        }
                        answers[index] = first
                    }
                }
                continue
            }
            // RETURNING names each stored row; an item whose key was already stored (or stored by
            // an earlier item of the same statement, perhaps with the same id) is not among them.
            for index in chunk {
                let id = items[index].envelopeId
                if inserted.remove(id) != nil {
                    stored.append(index)
                } else if let first = try duplicate(of: items[index]) {
                    answers[index] = first
                } else {
                    throw QueueError(.storage, "envelope \(id) was neither stored nor found under its key")
                }
            }
        }

        // One message per (stored item, destination), in item order (message ids follow enqueue order).
        var messages: [(item: Int, destination: String)] = []
        messages.reserveCapacity(stored.count)
        for index in stored {
            for destination in items[index].destinations { messages.append((index, destination)) }
            answers[index] = EnqueuedItem(envelopeId: items[index].envelopeId, destinations: items[index].destinations, duplicate: false)
        }
        for chunk in chunks(messages.count) {
            try insertMessages(db, submitter: submitter, items, messages[chunk], at: at)
        }
        return answers.map { $0! }
    }

    /// `0..<n` cut into ranges whose lengths are powers of two up to `rowsPerStatement`, longest
    /// first (`envelopeInserts`/`messageInserts` are indexed by the power).
    static func chunks(_ n: Int) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var start = 0
        var size = rowsPerStatement
        while start < n {
            while size > n - start { size >>= 1 }
            ranges.append(start..<(start + size))
            start += size
        }
        return ranges
    }

    /// `?1` submitter, `?2` enqueued_at; seven parameters per row after them. Index k: 2^k rows.
    private static let envelopeInserts = (0...rowsPerStatement.trailingZeroBitCount).map { envelopeSQL(rows: 1 << $0) + " RETURNING id" }
    private static let envelopeInsert = envelopeSQL(rows: 1)
    /// `?1` submitter, `?2` available_at; four parameters per row after them. Index k: 2^k rows.
    private static let messageInserts = (0...rowsPerStatement.trailingZeroBitCount).map { messageSQL(rows: 1 << $0) }

    private static func envelopeSQL(rows: Int) -> String {
        var sql = """
            INSERT INTO envelope (id, submitter, kind, record_id, updated_at, payload_digest, destinations, body, enqueued_at) VALUES
            """
        for row in 0..<rows {
            let p = 3 + row * 7
            sql += "\(row == 0 ? "" : ",")\n(?\(p), ?1, ?\(p + 1), ?\(p + 2), ?\(p + 3), ?\(p + 4), ?\(p + 5), ?\(p + 6), ?2)"
        }
        return sql + "\nON CONFLICT (submitter, record_id, payload_digest) DO NOTHING"
    }

    private static func messageSQL(rows: Int) -> String {
        var sql = """
            INSERT INTO message (envelope_id, destination, submitter, record_id, updated_at, state, delivery_count, available_at) VALUES
            """
        for row in 0..<rows {
            let p = 3 + row * 4
            sql += "\(row == 0 ? "" : ",")\n(?\(p), ?\(p + 1), ?1, ?\(p + 2), ?\(p + 3), 'queued', 0, ?2)"
        }
        return sql
    }

    /// Inserts the items' envelopes in one statement; the ids stored, without those whose key was
    /// already stored. Throws SQLite's constraint error, having changed nothing, when an envelope
    /// id is already stored.
    private static func insertEnvelopes(_ db: Database, submitter: String, _ items: ArraySlice<EnqueueItem>, at: Int64) throws -> Set<String> {
        let statement = try RawStatement(db, envelopeInserts[items.count.trailingZeroBitCount])
        statement.bind(1, submitter)
        statement.bind(2, at)
        for (row, item) in items.enumerated() {
            bindEnvelope(statement, at: Int32(3 + row * 7), item)
        }
        var inserted = Set<String>(minimumCapacity: items.count)
        defer { statement.reset() }
        while try statement.step() { inserted.insert(statement.text(0)) }
        return inserted
    }

    private enum AloneOutcome {
        case stored
        /// Its (submitter, recordId, payloadDigest) key is already stored: nothing was.
        case keyKnown
        /// Its envelope id is already stored: nothing was.
        case idKnown
    }

    /// Inserts one envelope.
    private static func insertEnvelopeAlone(_ db: Database, submitter: String, _ item: EnqueueItem, at: Int64) throws -> AloneOutcome {
        let statement = try RawStatement(db, envelopeInsert)
        statement.bind(1, submitter)
        statement.bind(2, at)
        bindEnvelope(statement, at: 3, item)
        do {
            try statement.run()
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY {
            return .idKnown
        }
        return db.changesCount > 0 ? .stored : .keyKnown
    }

    private static func bindEnvelope(_ statement: RawStatement, at p: Int32, _ item: EnqueueItem) {
        statement.bind(p, item.envelopeId)
        statement.bind(p + 1, item.kind)
        statement.bind(p + 2, item.recordId)
        statement.bind(p + 3, item.updatedAt)
        statement.bind(p + 4, item.payloadDigest)
        statement.bind(p + 5, item.destinations.count == 1 ? item.destinations[0] : item.destinations.joined(separator: "\n"))
        statement.bind(p + 6, bytes: item.envelope)
    }

    /// Inserts one queued message per (item, destination), in one statement. The message's
    /// `queued` event is implicit: `history` derives it from the envelope's enqueued_at.
    private static func insertMessages(
        _ db: Database, submitter: String, _ items: [EnqueueItem], _ rows: ArraySlice<(item: Int, destination: String)>, at: Int64
    ) throws {
        let statement = try RawStatement(db, messageInserts[rows.count.trailingZeroBitCount])
        statement.bind(1, submitter)
        statement.bind(2, at)
        for (row, message) in rows.enumerated() {
            let p = Int32(3 + row * 4)
            statement.bind(p, items[message.item].envelopeId)
            statement.bind(p + 1, message.destination)
            statement.bind(p + 2, items[message.item].recordId)
            statement.bind(p + 3, items[message.item].updatedAt)
        }
        try statement.run()
    }
}
