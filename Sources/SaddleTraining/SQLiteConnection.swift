import CSQLite

/// SQLite's "copy this buffer now" destructor, which does not import as a macro.
private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// A failed SQLite call: the result code and SQLite's message.
struct SQLiteFailure: Error {
    let code: Int32
    let message: String
}

/// One `sqlite3*` connection. Not thread-safe by itself: ``RunStore`` uses it under a lock only.
final class SQLiteConnection {
    private(set) var handle: OpaquePointer?

    init(path: String, flags: Int32) throws(SQLiteFailure) {
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        handle = db
        if rc != SQLITE_OK {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close_v2(db)
            handle = nil
            throw SQLiteFailure(code: rc, message: message)
        }
        sqlite3_extended_result_codes(db, 1)
    }

    deinit { close() }

    /// Statements prepared once and reused (``cached(_:)``), finalized by ``close()``.
    private var statements: [String: Statement] = [:]

    func close() {
        statements = [:]
        if let handle { sqlite3_close_v2(handle) }
        handle = nil
    }

    /// The statement for `sql`, prepared on first use and kept for the connection's lifetime: the
    /// step insert runs thousands of times per second. Callers `reset()` it after use so it holds no
    /// read transaction open.
    func cached(_ sql: String) throws(SQLiteFailure) -> Statement {
        if let stmt = statements[sql] { return stmt }
        let stmt = try prepare(sql)
        statements[sql] = stmt
        return stmt
    }

    private var errorMessage: String { handle.map { String(cString: sqlite3_errmsg($0)) } ?? "connection closed" }

    /// Runs one or more statements that return no rows.
    func execute(_ sql: String) throws(SQLiteFailure) {
        var err: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &err)
        if rc != SQLITE_OK {
            let message = err.map { String(cString: $0) } ?? errorMessage
            sqlite3_free(err)
            throw SQLiteFailure(code: rc, message: message)
        }
    }

    func prepare(_ sql: String) throws(SQLiteFailure) -> Statement {
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v2(handle, sql, -1, &stmt, nil)
        guard rc == SQLITE_OK, let stmt else { throw SQLiteFailure(code: rc, message: errorMessage) }
        return Statement(stmt, connection: self)
    }

    /// The first column of each row of a query.
    func column(_ sql: String) throws(SQLiteFailure) -> [SQLValue] {
        let stmt = try prepare(sql)
        var out: [SQLValue] = []
        while try stmt.step() { out.append(stmt.value(0)) }
        return out
    }

    func failure(_ rc: Int32) -> SQLiteFailure { SQLiteFailure(code: rc, message: errorMessage) }

    /// Rows inserted, updated or deleted by the last completed INSERT/UPDATE/DELETE on this connection
    /// (`sqlite3_changes`): rows skipped by `OR IGNORE` are not counted, nor are rows that `OR REPLACE`
    /// deleted to make room (so after `INSERT OR IGNORE` it is exactly the rows that were new).
    var changes: Int { handle.map { Int(sqlite3_changes($0)) } ?? 0 }
}

/// A column value as SQLite stored it.
enum SQLValue: Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob

    var int: Int? { if case .integer(let i) = self { return Int(i) } else { return nil } }
    var string: String? { if case .text(let s) = self { return s } else { return nil } }
}

/// A prepared statement; finalized when released.
final class Statement {
    private let stmt: OpaquePointer
    private let connection: SQLiteConnection

    init(_ stmt: OpaquePointer, connection: SQLiteConnection) {
        self.stmt = stmt
        self.connection = connection
    }

    deinit { sqlite3_finalize(stmt) }

    func reset() {
        sqlite3_reset(stmt)
        sqlite3_clear_bindings(stmt)
    }

    /// Binds 1-based parameter `index`.
    func bind(_ index: Int32, _ value: SQLValue) throws(SQLiteFailure) {
        let rc: Int32
        switch value {
        case .null, .blob: rc = sqlite3_bind_null(stmt, index)
        case .integer(let i): rc = sqlite3_bind_int64(stmt, index, i)
        case .real(let d): rc = sqlite3_bind_double(stmt, index, d)
        case .text(let s): rc = sqlite3_bind_text(stmt, index, s, -1, transient)
        }
        if rc != SQLITE_OK { throw connection.failure(rc) }
    }

    /// Binds an integer, or NULL for nil.
    func bind(_ index: Int32, integer value: Int64?) throws(SQLiteFailure) {
        let rc = value.map { sqlite3_bind_int64(stmt, index, $0) } ?? sqlite3_bind_null(stmt, index)
        if rc != SQLITE_OK { throw connection.failure(rc) }
    }

    /// Binds text (copied by SQLite), or NULL for nil.
    func bind(_ index: Int32, text value: String?) throws(SQLiteFailure) {
        let rc = value.map { sqlite3_bind_text(stmt, index, $0, -1, transient) } ?? sqlite3_bind_null(stmt, index)
        if rc != SQLITE_OK { throw connection.failure(rc) }
    }

    /// Binds a number as ``SQLValue/number(_:)`` stores it: finite as REAL, non-finite as its TEXT
    /// spelling, nil as NULL.
    func bind(_ index: Int32, number value: Double?) throws(SQLiteFailure) {
        let rc: Int32
        switch value {
        case nil: rc = sqlite3_bind_null(stmt, index)
        case let d? where d.isFinite: rc = sqlite3_bind_double(stmt, index, d)
        case let d?: rc = sqlite3_bind_text(stmt, index, d.isNaN ? "NaN" : d > 0 ? "Infinity" : "-Infinity", -1, transient)
        }
        if rc != SQLITE_OK { throw connection.failure(rc) }
    }

    func bind(_ values: [SQLValue]) throws(SQLiteFailure) {
        for (i, v) in values.enumerated() { try bind(Int32(i + 1), v) }
    }

    /// Advances; true while a row is available.
    func step() throws(SQLiteFailure) -> Bool {
        let rc = sqlite3_step(stmt)
        if rc == SQLITE_ROW { return true }
        if rc == SQLITE_DONE { return false }
        throw connection.failure(rc)
    }

    func value(_ column: Int32) -> SQLValue {
        switch sqlite3_column_type(stmt, column) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(stmt, column))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(stmt, column))
        case SQLITE_TEXT:
            guard let p = sqlite3_column_text(stmt, column) else { return .text("") }
            return .text(String(cString: p))
        case SQLITE_NULL: return .null
        default: return .blob
        }
    }
}
