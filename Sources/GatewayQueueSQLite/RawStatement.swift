import GRDB
import GRDBSQLite

/// A cached GRDB statement driven through the SQLite C API, for the per-message statements of
/// enqueue, lease and ack: binding and reading columns directly instead of through GRDB's boxed
/// `StatementArguments` and `Row` values (each bound value an existential, each row a copy of
/// every column) roughly halves the CPU spent outside SQLite itself per message.
///
/// Bindings stay set across `run()`/`reset()`, so values common to a whole batch are bound once.
/// Use only inside the GRDB access (`write`/`read`) that created it.
struct RawStatement {
    private let statement: Statement
    private let handle: OpaquePointer

    init(_ db: Database, _ sql: String) throws {
        statement = try db.cachedStatement(sql: sql)
        handle = statement.sqliteStatement
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    // MARK: Binding (parameters are numbered from 1)

    func bind(_ index: Int32, _ value: Int64) {
        sqlite3_bind_int64(handle, index, value)
    }

    func bind(_ index: Int32, _ value: Int64?) {
        if let value { sqlite3_bind_int64(handle, index, value) } else { sqlite3_bind_null(handle, index) }
    }

    func bind(_ index: Int32, _ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            // A null pointer would bind NULL: an empty string binds as "".
            guard let base = utf8.baseAddress else {
                _ = sqlite3_bind_text(handle, index, "", 0, sqliteTransient)
                return
            }
            _ = sqlite3_bind_text(handle, index, base, Int32(utf8.count), sqliteTransient)
        }
    }

    func bind(_ index: Int32, _ value: String?) {
        if let value { bind(index, value) } else { sqlite3_bind_null(handle, index) }
    }

    func bind(_ index: Int32, bytes: [UInt8]?) {
        guard let bytes else { sqlite3_bind_null(handle, index); return }
        bytes.withUnsafeBytes { raw in
            // A zero-length blob still needs a non-null pointer to bind as a blob rather than NULL.
            _ = sqlite3_bind_blob(handle, index, raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(raw.count), sqliteTransient)
        }
    }

    // MARK: Running

    /// Steps once: true when a row is ready to read, false when the statement is done.
    /// A failure resets the statement and throws GRDB's `DatabaseError` with the extended code.
    func step() throws -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let connection = sqlite3_db_handle(handle)
            let code = sqlite3_extended_errcode(connection)
            let message = String(cString: sqlite3_errmsg(connection))
            sqlite3_reset(handle)
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: message)
        }
    }

    /// Runs an INSERT/UPDATE/DELETE to completion and resets it for the next run.
    func run() throws {
        while try step() {}
        sqlite3_reset(handle)
    }

    /// Ends a SELECT early (or after its last row) so that it can run again.
    func reset() {
        sqlite3_reset(handle)
    }

    // MARK: Columns of the current row (numbered from 0)

    func isNull(_ column: Int32) -> Bool {
        sqlite3_column_type(handle, column) == SQLITE_NULL
    }

    func int64(_ column: Int32) -> Int64 {
        sqlite3_column_int64(handle, column)
    }

    func int(_ column: Int32) -> Int {
        Int(sqlite3_column_int64(handle, column))
    }

    func optionalInt64(_ column: Int32) -> Int64? {
        isNull(column) ? nil : int64(column)
    }

    func text(_ column: Int32) -> String {
        guard let pointer = sqlite3_column_text(handle, column) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self)
    }

    func optionalText(_ column: Int32) -> String? {
        isNull(column) ? nil : text(column)
    }

    func bytes(_ column: Int32) -> [UInt8] {
        guard let pointer = sqlite3_column_blob(handle, column) else { return [] }
        let count = Int(sqlite3_column_bytes(handle, column))
        return [UInt8](UnsafeRawBufferPointer(start: pointer, count: count))
    }

    func optionalBytes(_ column: Int32) -> [UInt8]? {
        isNull(column) ? nil : bytes(column)
    }
}

/// SQLite copies the bound value before the bind call returns (`SQLITE_TRANSIENT`).
private let sqliteTransient = unsafeBitCast(Int(-1), to: sqlite3_destructor_type.self)
