import Foundation
import GRDB
import GatewayQueue

/// The schema, created and upgraded when the file is opened.
extension SQLiteMessageQueue {
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
        // v3: at an outbox a dead message holds its FIFO group; lease probes the dead messages of a
        // group before a candidate (`leaseSQL`).
        migrator.registerMigration("v3-outbox-dead-group") { db in
            try db.execute(sql: """
                CREATE INDEX message_dead_group ON message(destination, record_id, updated_at, id) WHERE state = 'dead'
                """)
        }
        // v4: the message search (`searchHeaders`, the console's browser) leads with an index for
        // each filter that narrows: a participant's messages as destination and as submitter (newest
        // id first), a record's envelopes, and the unsettled messages. Columns written once at
        // enqueue, so a state change touches none of them (the partial index only on entering or
        // leaving the unsettled states).
        migrator.registerMigration("v4-message-search") { db in
            try db.execute(sql: """
                CREATE INDEX message_destination ON message(destination, id);
                CREATE INDEX message_submitter ON message(submitter, id);
                CREATE INDEX envelope_record ON envelope(record_id);
                CREATE INDEX envelope_enqueued ON envelope(enqueued_at);
                CREATE INDEX message_unsettled ON message(id) WHERE state IN ('dead', 'leased', 'queued');
                """)
        }
        return migrator
    }
}
