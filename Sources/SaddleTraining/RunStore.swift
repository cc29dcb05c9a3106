import CSQLite
import Foundation
import SaddleJSON
import SaddleThreads

/// The run store: runs, every step, and diagnoses in SQLite, on disk (WAL mode) or in memory.
///
/// Steps of trainers (``enqueue(_:)``, never blocks) go through a dedicated writer thread that commits
/// what is queued, at most `maxBatch` steps per transaction, after gathering for `flushInterval`
/// seconds or as soon as `maxBatch` steps wait or a caller waits for the commit. ``append(_:)``
/// (ingestion: the client is answered once its events are durable) returns only after the commit,
/// which its own thread performs when no other commit is under way: one transaction per call, shared
/// by the calls that queue up behind a commit (group commit). One committer at a time. Metadata writes
/// (``createRun(id:name:kind:config:)`` …) commit synchronously. Queries and commits share one
/// connection under a lock, so a query waits at most one commit.
///
/// Integrity: at open an existing file gets `PRAGMA quick_check`; a file that is not a database, fails
/// the check, has foreign tables, or has a newer `user_version` is refused with a ``StoreError``
/// that says what to do, never reset. Non-finite values (NaN loss…) are stored as the TEXT 'NaN',
/// 'Infinity', '-Infinity' because SQLite turns a NaN REAL into NULL; NULL means "not reported".
public final class RunStore: Sendable {
    /// The schema version this build writes and the newest it reads.
    ///
    /// History: 1 — runs, steps, diagnoses; 2 — steps gain `allreduce` and `world_size` (distributed
    /// runs); 3 — runs gain `step_count`, the number of its step rows, kept in the transaction of every
    /// step insert so that ``stepCount(runId:rank:)`` and ``listRuns()`` do not count rows. An older
    /// store is migrated in place at open, in one transaction (nothing is lost; a failed migration
    /// leaves the file as it was).
    public static let schemaVersion = 3
    /// The path given (":memory:" for an in-memory store).
    public let path: String
    public let flushInterval: Double
    public let maxBatch: Int
    private let db: Guarded<SQLiteConnection?>
    private let queue: Guarded<WriteQueue>

    /// Opens or creates the store at `path` (parent directories are created), or an in-memory one for ":memory:".
    /// - Throws: ``StoreError/newerSchema(path:found:supported:)``, ``StoreError/corrupt(path:detail:)``,
    ///   ``StoreError/sqlite(path:code:message:)``.
    public init(path: String, durability: Durability = .powerLoss, flushInterval: Double = 0.005, maxBatch: Int = 512)
        throws(StoreError)
    {
        self.path = path
        self.flushInterval = flushInterval
        self.maxBatch = max(1, maxBatch)
        let connection = try Self.open(path: path, durability: durability)
        db = Guarded(connection)
        queue = Guarded(WriteQueue())
        let db = self.db, queue = self.queue, interval = flushInterval, batch = self.maxBatch
        NamedThread.start(name: "saddle.store.writer") {
            writerLoop(db: db, queue: queue, path: path, flushInterval: interval, maxBatch: batch)
        }
    }

    deinit { close() }

    private static func open(path: String, durability: Durability) throws(StoreError) -> SQLiteConnection {
        let memory = path == ":memory:"
        var existed = false
        if !memory {
            let fm = FileManager.default
            existed = ((try? fm.attributesOfItem(atPath: path)[.size] as? Int) ?? 0) > 0
            let dir = (path as NSString).deletingLastPathComponent
            if !dir.isEmpty && !fm.fileExists(atPath: dir) {
                do {
                    try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
                } catch {
                    throw .sqlite(path: path, code: SQLITE_CANTOPEN, message: "cannot create directory \(dir): \(error)")
                }
            }
        }
        let connection: SQLiteConnection
        do {
            connection = try SQLiteConnection(
                path: path, flags: SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX)
        } catch {
            throw .sqlite(path: path, code: error.code, message: error.message)
        }
        do {
            try connection.execute("PRAGMA busy_timeout = 5000")
            if existed {
                let check = try connection.column("PRAGMA quick_check")
                if check != [.text("ok")] {
                    let detail = check.prefix(3).compactMap(\.string).joined(separator: "; ")
                    throw StoreError.corrupt(path: path, detail: "quick_check: \(detail)")
                }
            }
            if !memory { try connection.execute("PRAGMA journal_mode = WAL") }
            try connection.execute(durability == .powerLoss ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL")
            try connection.execute("PRAGMA foreign_keys = ON")
            let version = try connection.column("PRAGMA user_version").first?.int ?? 0
            if version > schemaVersion { throw StoreError.newerSchema(path: path, found: version, supported: schemaVersion) }
            if version == 0 {
                let tables = try connection.column("SELECT name FROM sqlite_master WHERE type = 'table'").compactMap(\.string)
                if !tables.isEmpty {
                    throw StoreError.corrupt(path: path, detail: "schema version 0 with tables \(tables.joined(separator: ", "))")
                }
                try connection.execute(
                    "BEGIN IMMEDIATE; \(schemaV1) \(migrationV2) \(migrationV3) PRAGMA user_version = \(schemaVersion); COMMIT;")
            } else if version < schemaVersion {
                try migrate(connection)
            }
        } catch let error as StoreError {
            throw error
        } catch let failure as SQLiteFailure {
            let primary = failure.code & 0xff
            if primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT {
                throw .corrupt(path: path, detail: failure.message)
            }
            throw .sqlite(path: path, code: failure.code, message: failure.message)
        } catch {
            throw .sqlite(path: path, code: SQLITE_ERROR, message: "\(error)")
        }
        return connection
    }

    /// Brings a store of an older schema version up to ``schemaVersion`` in one transaction. The version
    /// is read again inside the transaction, so two daemons opening the same old store migrate it once.
    private static func migrate(_ connection: SQLiteConnection) throws(SQLiteFailure) {
        try connection.execute("BEGIN IMMEDIATE")
        do throws(SQLiteFailure) {
            let version = try connection.column("PRAGMA user_version").first?.int ?? 0
            if version == 1 { try connection.execute(migrationV2) }
            if version >= 1 && version <= 2 { try connection.execute(migrationV3) }
            if version < schemaVersion { try connection.execute("PRAGMA user_version = \(schemaVersion)") }
            try connection.execute("COMMIT")
        } catch {
            try? connection.execute("ROLLBACK")
            throw error
        }
    }

    /// Waits for the writer to commit everything queued, then closes the connection. Idempotent.
    public func close() {
        queue.wait(until: { $0.pending.isEmpty && !$0.committing || $0.writerExited }, notify: true) { q, _ in
            q.closed = true
        }
        queue.wait(until: { $0.writerExited }) { _, _ in }
        db.withLock { conn in
            conn?.close()
            conn = nil
        }
    }

    // MARK: Runs

    /// Records a new run (state `created`).
    public func createRun(id: String, name: String, kind: RunKind, config: JSON) throws(StoreError) {
        let now = Date().timeIntervalSince1970
        let text = (try? config.serializedString()) ?? "null"
        try write(
            "INSERT INTO runs (id, name, kind, state, config, created_at, updated_at) VALUES (?, ?, ?, 'created', ?, ?, ?)",
            [.text(id), .text(name), .text(kind.rawValue), .text(text), .real(now), .real(now)])
    }

    public func updateRunState(id: String, state: RunState) throws(StoreError) {
        try write(
            "UPDATE runs SET state = ?, updated_at = ? WHERE id = ?",
            [.text(state.rawValue), .real(Date().timeIntervalSince1970), .text(id)])
    }

    /// Marks the run finished with its reason, after committing all its queued steps.
    public func finishRun(id: String, reason: FinishReason) throws(StoreError) {
        try flush()
        try write(
            "UPDATE runs SET state = 'finished', finish_reason = ?, finish_message = ?, updated_at = ? WHERE id = ?",
            [
                .text(reason.name), reason.message.map(SQLValue.text) ?? .null, .real(Date().timeIntervalSince1970),
                .text(id),
            ])
    }

    /// All runs, newest first, each with its committed step count (no rows counted).
    public func listRuns() throws(StoreError) -> [RunRecord] {
        try query("SELECT \(runColumns) FROM runs ORDER BY created_at DESC, id", [], Self.runRecord)
    }

    public func run(id: String) throws(StoreError) -> RunRecord? {
        try query("SELECT \(runColumns) FROM runs WHERE id = ?", [.text(id)], Self.runRecord).first
    }

    // MARK: Steps

    /// Queues steps for the writer and returns at once; they are durable after the writer's next
    /// commit (``flush()`` waits for it). A failed commit is reported by the next ``flush()``/``append(_:)``.
    public func enqueue(_ events: [StepEvent]) {
        guard !events.isEmpty else { return }
        // Wake the writer only when it waits for this: work after none, or a full batch. A trainer
        // enqueues every step; waking the writer each time would cost a context switch per step.
        let wake: Bool = queue.withLock { q in
            guard !q.closed else { return false }
            let wasEmpty = q.pending.isEmpty
            q.pending.append(contentsOf: events)
            q.enqueued += events.count
            return wasEmpty || q.pending.count >= maxBatch
        }
        if wake { queue.broadcast() }
    }

    /// Stores steps and returns once they are committed: on return they are durable ("acknowledged").
    /// Steps are keyed by (run, rank, step); appending a step again replaces it (a client may retry).
    ///
    /// One call's steps go into one transaction, never split across several; calls that arrive while
    /// another commits share the next transaction (group commit: one sync for all of them). The caller's
    /// own thread commits when no commit is under way, so an acknowledged call costs no hand-off to the
    /// writer thread.
    /// - Throws: ``StoreError/unknownRun(_:)`` (nothing is written), or the commit's failure.
    public func append(_ events: [StepEvent]) throws(StoreError) {
        guard !events.isEmpty else { return }
        var ids: [String] = []
        for e in events where !ids.contains(e.runId) { ids.append(e.runId) }
        for id in ids.sorted() where try run(id: id) == nil { throw .unknownRun(id) }
        // direct: nothing is queued or being committed, so this caller commits `events` as they are
        // (no copy through the queue); their sequence numbers follow everything processed.
        let ticket: (target: Int, direct: Bool)? = queue.withLock { q in
            guard !q.closed else { return nil }
            q.enqueued += events.count
            q.waiters += 1
            if q.pending.isEmpty && !q.committing {
                q.committing = true
                return (q.enqueued, true)
            }
            q.pending.append(contentsOf: events)
            q.calls.append((q.enqueued - events.count)..<q.enqueued)
            return (q.enqueued, false)
        }
        guard let (target, direct) = ticket else { throw .closed }
        let maxBatch = self.maxBatch, db = self.db, path = self.path
        if direct {
            let error = commit(events, db: db, path: path)
            queue.withLock(notify: true) { q in q.finish(events.count, from: target - events.count, error: error) }
        }
        while !direct {
            // Commit what is pending (this call's steps and any queued before them) unless another
            // thread is committing; then look again.
            let job: (batch: [StepEvent], start: Int)? = queue.wait(
                until: { $0.processed >= target || !$0.committing || $0.writerExited }
            ) { q, _ in
                q.processed >= target || q.writerExited ? nil : q.takeBatch(maxBatch: max(maxBatch, Self.groupCommitLimit))
            }
            guard let job else { break }
            let error = commit(job.batch, db: db, path: path)
            queue.withLock(notify: true) { q in q.finish(job.batch.count, from: job.start, error: error) }
        }
        try waitCommitted(through: target, from: target - events.count, leavingWaiter: true)
    }

    /// The most steps an ``append(_:)`` caller commits for itself and the calls queued behind it in one
    /// transaction (whole calls: the call that crosses it is not cut).
    static let groupCommitLimit = 16_384

    /// Counts of step commits since the store opened (the writer's and ``append(_:)`` callers'), for
    /// tests and `status`.
    public struct WriterStats: Sendable, Equatable {
        /// Step transactions committed: queued steps at most `maxBatch` each; appended calls whole.
        public var commits = 0
        /// Steps committed by them.
        public var steps = 0
    }

    public var writerStats: WriterStats { queue.withLock { $0.stats } }

    /// Waits until every step queued so far is committed.
    public func flush() throws(StoreError) {
        let target: Int = queue.withLock(notify: true) { q in
            q.waiters += 1
            return q.enqueued
        }
        try waitCommitted(through: target, from: 0, leavingWaiter: true)
    }

    private func waitCommitted(through target: Int, from start: Int, leavingWaiter: Bool) throws(StoreError) {
        let failure: StoreError? = queue.wait(until: { $0.processed >= target || $0.writerExited }, notify: true) { q, _ in
            q.waiters -= 1
            if let f = q.failures.first(where: { $0.range.overlaps(start..<target) }) { return f.error }
            return q.processed >= target ? nil : .closed
        }
        if let failure { throw failure }
    }

    /// Committed steps of a run (all ranks unless `rank` is given) in [fromStep, toStep], by rank then step.
    public func steps(runId: String, fromStep: Int = 0, toStep: Int = .max, rank: Int? = nil) throws(StoreError)
        -> [StepEvent]
    {
        var sql = "SELECT \(stepColumns) FROM steps WHERE run_id = ? AND step >= ? AND step <= ?"
        var args: [SQLValue] = [.text(runId), .integer(Int64(fromStep)), .integer(Int64(toStep))]
        if let rank {
            sql += " AND rank = ?"
            args.append(.integer(Int64(rank)))
        }
        return try query(sql + " ORDER BY rank, step", args, Self.stepEvent)
    }

    /// The ranks that reported steps of a run, ascending: a loose index scan (one seek per rank), so the cost
    /// does not grow with the number of steps.
    public func ranks(runId: String) throws(StoreError) -> [Int] {
        try query(
            """
            WITH RECURSIVE r(rank) AS (
              SELECT min(rank) FROM steps WHERE run_id = ?1
              UNION ALL SELECT (SELECT min(rank) FROM steps WHERE run_id = ?1 AND rank > r.rank) FROM r WHERE r.rank IS NOT NULL)
            SELECT rank FROM r WHERE rank IS NOT NULL
            """, [.text(runId)]
        ) { $0.value(0).int ?? 0 }
    }

    /// Each listed rank's first `head` and last `tail` committed steps of a run, by rank then step (two range
    /// reads per rank: the windows a distributed run's diagnosis holds, without reading the whole run).
    public func edgeSteps(runId: String, ranks: [Int], head: Int, tail: Int) throws(StoreError) -> [StepEvent] {
        var out: [StepEvent] = []
        for rank in ranks {
            let args: [SQLValue] = [.text(runId), .integer(Int64(rank))]
            let first = try query(
                "SELECT \(stepColumns) FROM steps WHERE run_id = ? AND rank = ? ORDER BY step LIMIT \(max(head, 0))",
                args, Self.stepEvent)
            let last = try query(
                "SELECT \(stepColumns) FROM steps WHERE run_id = ? AND rank = ? ORDER BY step DESC LIMIT \(max(tail, 0))",
                args, Self.stepEvent
            ).reversed()
            let firstEnd = first.last?.step ?? Int.min
            out += first + last.filter { $0.step > firstEnd }
        }
        return out
    }

    /// Number of committed steps of a run (all ranks unless `rank` is given); 0 for an unknown run.
    ///
    /// All ranks: the run's stored `step_count` (one row read, whatever the run's size), kept in the
    /// transaction of every step commit. One rank: counted from the rows of that rank (a range of the
    /// primary key, so O(that rank's steps)); per-rank counts are asked for rarely and are not stored.
    public func stepCount(runId: String, rank: Int? = nil) throws(StoreError) -> Int {
        guard let rank else {
            return try query("SELECT step_count FROM runs WHERE id = ?", [.text(runId)]) { $0.value(0).int ?? 0 }.first ?? 0
        }
        return try query("SELECT count(*) FROM steps WHERE run_id = ? AND rank = ?", [.text(runId), .integer(Int64(rank))]) {
            $0.value(0).int ?? 0
        }.first ?? 0
    }

    /// The loss history in [fromStep, toStep], per rank, at most `maxPoints` points per rank.
    ///
    /// Downsampling (when a rank has more steps than `maxPoints`): the rank's steps, in order, are cut
    /// into `maxPoints` buckets of consecutive steps with equal counts (±1), so gaps in ingested step
    /// numbers do not leave empty buckets; each bucket becomes one ``HistoryPoint`` with the mean,
    /// min and max of its finite losses (a non-finite loss in the bucket makes the point's loss
    /// non-finite), the means of gradNorm, data wait, compute, all-reduce wait and throughput, and the last
    /// lr, epoch and world size.
    public func history(runId: String, fromStep: Int = 0, toStep: Int = .max, rank: Int? = nil, maxPoints: Int? = nil)
        throws(StoreError) -> RunHistory
    {
        let all = try steps(runId: runId, fromStep: fromStep, toStep: toStep, rank: rank)
        var points: [HistoryPoint] = []
        var downsampled = false
        var start = 0
        while start < all.count {
            var end = start
            while end < all.count && all[end].rank == all[start].rank { end += 1 }
            let rankSteps = all[start..<end]
            if let maxPoints, maxPoints > 0, rankSteps.count > maxPoints {
                downsampled = true
                let n = rankSteps.count
                for b in 0..<maxPoints {
                    let lo = start + b * n / maxPoints, hi = start + (b + 1) * n / maxPoints
                    if hi > lo { points.append(bucketPoint(all[lo..<hi])) }
                }
            } else {
                points.append(contentsOf: rankSteps.indices.map { bucketPoint(all[$0...$0]) })
            }
            start = end
        }
        return RunHistory(runId: runId, points: points, totalSteps: all.count, downsampled: downsampled)
    }

    // MARK: Diagnoses

    public func addDiagnosis(runId: String, step: Int?, verdict: String, detail: JSON) throws(StoreError) {
        let text = (try? detail.serializedString()) ?? "null"
        try write(
            "INSERT INTO diagnoses (run_id, step, verdict, detail, created_at) VALUES (?, ?, ?, ?, ?)",
            [
                .text(runId), step.map { .integer(Int64($0)) } ?? .null, .text(verdict), .text(text),
                .real(Date().timeIntervalSince1970),
            ])
    }

    public func diagnoses(runId: String) throws(StoreError) -> [DiagnosisRecord] {
        try query(
            "SELECT run_id, step, verdict, detail, created_at FROM diagnoses WHERE run_id = ? ORDER BY id",
            [.text(runId)]
        ) { s in
            DiagnosisRecord(
                runId: s.value(0).string ?? "", step: s.value(1).int, verdict: s.value(2).string ?? "",
                detail: (try? JSON.parse(s.value(3).string ?? "null")) ?? .null, createdAt: s.value(4).real ?? 0)
        }
    }

    // MARK: Plumbing

    private func write(_ sql: String, _ args: [SQLValue]) throws(StoreError) {
        _ = try query(sql, args) { _ in () }
    }

    private func query<R>(_ sql: String, _ args: [SQLValue], _ row: (Statement) -> R) throws(StoreError) -> [R] {
        let path = self.path
        let result: Result<[R], StoreError> = db.withLock { conn in
            guard let conn else { return .failure(.closed) }
            do throws(SQLiteFailure) {
                let stmt = try conn.prepare(sql)
                try stmt.bind(args)
                var out: [R] = []
                while try stmt.step() { out.append(row(stmt)) }
                return .success(out)
            } catch {
                if error.code & 0xff == SQLITE_CONSTRAINT, sql.hasPrefix("INSERT INTO runs") {
                    return .failure(
                        .sqlite(path: path, code: error.code, message: "a run with this id already exists: \(error.message)"))
                }
                return .failure(.sqlite(path: path, code: error.code, message: error.message))
            }
        }
        return try result.get()
    }

    private static func runRecord(_ s: Statement) -> RunRecord {
        RunRecord(
            id: s.value(0).string ?? "", name: s.value(1).string ?? "",
            kind: RunKind(rawValue: s.value(2).string ?? "") ?? .own,
            state: RunState(rawValue: s.value(3).string ?? "") ?? .finished,
            config: (try? JSON.parse(s.value(4).string ?? "null")) ?? .null,
            createdAt: s.value(5).real ?? 0, updatedAt: s.value(6).real ?? 0,
            finishReason: s.value(7).string, finishMessage: s.value(8).string, stepCount: s.value(9).int ?? 0)
    }

    private static func stepEvent(_ s: Statement) -> StepEvent {
        StepEvent(
            runId: s.value(0).string ?? "", rank: s.value(1).int ?? 0, step: s.value(2).int ?? 0, epoch: s.value(3).int ?? 0,
            loss: s.value(4).real ?? .nan, gradNorm: s.value(5).real, lr: s.value(6).real, dataWaitSeconds: s.value(7).real,
            computeSeconds: s.value(8).real, samplesPerSecond: s.value(9).real, fingerprint: s.value(10).string,
            labelHistogram: s.value(11).string.flatMap { text in
                (try? JSON.parse(text))?.arrayValue?.compactMap { $0.int64Value.map(Int.init) }
            },
            allreduceSeconds: s.value(12).real, worldSize: s.value(13).int)
    }
}

private let runColumns = "id, name, kind, state, config, created_at, updated_at, finish_reason, finish_message, step_count"
private let stepColumns =
    "run_id, rank, step, epoch, loss, grad_norm, lr, data_wait, compute, throughput, fingerprint, label_histogram, "
    + "allreduce, world_size"

/// Schema version 1. Numeric step columns hold REAL for finite values, TEXT 'NaN'/'Infinity'/'-Infinity'
/// for non-finite ones (REAL affinity leaves such text alone), and NULL for "not reported".
private let schemaV1 = """
    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('own', 'ingested')),
        state TEXT NOT NULL,
        config TEXT NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        finish_reason TEXT,
        finish_message TEXT
    );
    CREATE TABLE steps (
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        rank INTEGER NOT NULL,
        step INTEGER NOT NULL,
        epoch INTEGER NOT NULL,
        loss REAL,
        grad_norm REAL,
        lr REAL,
        data_wait REAL,
        compute REAL,
        throughput REAL,
        fingerprint TEXT,
        label_histogram TEXT,
        PRIMARY KEY (run_id, rank, step)
    ) WITHOUT ROWID;
    CREATE TABLE diagnoses (
        id INTEGER PRIMARY KEY,
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        step INTEGER,
        verdict TEXT NOT NULL,
        detail TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE INDEX diagnoses_by_run ON diagnoses (run_id, step);
    """

/// Schema version 2 over version 1: the all-reduce wait (REAL, like the other times) and the world
/// size of distributed runs; NULL in steps stored before.
private let migrationV2 = """
    ALTER TABLE steps ADD COLUMN allreduce REAL;
    ALTER TABLE steps ADD COLUMN world_size INTEGER;
    """

/// Schema version 3 over version 2: each run's number of step rows, backfilled from the rows (one pass
/// over the steps, at migration only). From then on every step commit adds the rows it actually
/// inserted, in its own transaction (see `commit`); a deleted run takes its count with it.
private let migrationV3 = """
    ALTER TABLE runs ADD COLUMN step_count INTEGER NOT NULL DEFAULT 0;
    UPDATE runs SET step_count = (SELECT count(*) FROM steps WHERE steps.run_id = runs.id);
    """

extension SQLValue {
    /// A number for a REAL column: finite as REAL, non-finite as its TEXT spelling, nil as NULL.
    static func number(_ value: Double?) -> SQLValue {
        guard let value else { return .null }
        if value.isFinite { return .real(value) }
        return .text(value.isNaN ? "NaN" : value > 0 ? "Infinity" : "-Infinity")
    }

    /// The inverse of ``number(_:)``.
    var real: Double? {
        switch self {
        case .real(let d): return d
        case .integer(let i): return Double(i)
        case .text("NaN"): return .nan
        case .text("Infinity"): return .infinity
        case .text("-Infinity"): return -.infinity
        default: return nil
        }
    }
}

/// One bucket of consecutive steps (same rank) as a history point.
private func bucketPoint(_ events: ArraySlice<StepEvent>) -> HistoryPoint {
    func mean(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        if let nan = values.first(where: { $0.isNaN }) { return nan }
        if let inf = values.first(where: { $0.isInfinite }) { return inf }
        return values.reduce(0, +) / Double(values.count)
    }
    let losses = events.map(\.loss)
    let finite = losses.filter(\.isFinite)
    guard let first = events.first, let last = events.last else { preconditionFailure("empty bucket") }
    let single = events.count == 1
    return HistoryPoint(
        rank: first.rank, step: last.step, firstStep: first.step, epoch: last.epoch, loss: mean(losses) ?? .nan,
        lossMin: finite.min() ?? losses.first ?? .nan, lossMax: finite.max() ?? losses.first ?? .nan,
        gradNorm: mean(events.compactMap(\.gradNorm)), lr: events.last(where: { $0.lr != nil })?.lr,
        dataWaitSeconds: mean(events.compactMap(\.dataWaitSeconds)), computeSeconds: mean(events.compactMap(\.computeSeconds)),
        samplesPerSecond: mean(events.compactMap(\.samplesPerSecond)),
        allreduceSeconds: mean(events.compactMap(\.allreduceSeconds)),
        worldSize: events.last(where: { $0.worldSize != nil })?.worldSize, count: events.count,
        fingerprint: single ? first.fingerprint : nil, labelHistogram: single ? first.labelHistogram : nil)
}

// MARK: Writer

struct WriteQueue {
    var pending: [StepEvent] = []
    /// Events ever queued / ever processed (committed or failed): sequence numbers for waiters.
    /// `pending[0]` is number `processed` (plus the batch being committed, while `committing`).
    var enqueued = 0
    var processed = 0
    /// One committer at a time: the writer thread or an ``RunStore/append(_:)`` caller.
    var committing = false
    var waiters = 0
    /// The sequence ranges of pending ``RunStore/append(_:)`` calls: a batch never cuts one.
    var calls: [Range<Int>] = []
    var failures: [(range: Range<Int>, error: StoreError)] = []
    var closed = false
    var writerExited = false
    var stats = RunStore.WriterStats()

    /// Takes the next batch to commit and marks it being committed: up to `maxBatch` steps, extended to
    /// the end of an append call it would otherwise cut (one call, one transaction). Only when
    /// nothing is being committed.
    mutating func takeBatch(maxBatch: Int) -> (batch: [StepEvent], start: Int) {
        precondition(!committing, "one committer at a time")
        let start = processed
        var end = start + min(pending.count, maxBatch)
        while let call = calls.first, call.lowerBound < end {
            end = max(end, call.upperBound)
            calls.removeFirst()
        }
        let batch = Array(pending.prefix(end - start))
        pending.removeFirst(batch.count)
        committing = !batch.isEmpty
        return (batch, start)
    }

    /// Records the outcome of a batch taken by ``takeBatch(maxBatch:)``.
    mutating func finish(_ count: Int, from start: Int, error: StoreError?) {
        processed = start + count
        committing = false
        if let error {
            failures.append((start..<(start + count), error))
            if failures.count > 64 { failures.removeFirst() }
        } else {
            stats.commits += 1
            stats.steps += count
        }
    }
}

private func writerLoop(
    db: Guarded<SQLiteConnection?>, queue: Guarded<WriteQueue>, path: String, flushInterval: Double,
    maxBatch: Int
) {
    while true {
        // Wait for work; then, unless someone is waiting or the batch is full, gather for flushInterval.
        let hasWork = queue.wait(until: { !$0.pending.isEmpty && !$0.committing || $0.closed }) { q, _ in !q.pending.isEmpty }
        if hasWork {
            let deadline = Date(timeIntervalSinceNow: flushInterval)
            queue.wait(until: { $0.pending.count >= maxBatch || $0.waiters > 0 || $0.closed }, deadline: deadline) { _, _ in }
        }
        // nil: an append caller is committing; wait for it.
        let job: (batch: [StepEvent], start: Int)? = queue.withLock { q in
            q.committing ? nil : q.takeBatch(maxBatch: maxBatch)
        }
        guard let job else {
            queue.wait(until: { !$0.committing }) { _, _ in }
            continue
        }
        if job.batch.isEmpty {
            let exit = queue.withLock(notify: true) { q in
                if q.closed && q.pending.isEmpty && !q.committing { q.writerExited = true }
                return q.writerExited
            }
            if exit { return }
            continue
        }
        let error = commit(job.batch, db: db, path: path)
        queue.withLock(notify: true) { q in q.finish(job.batch.count, from: job.start, error: error) }
    }
}

/// Rows per multi-row step insert: one statement execution per this many steps, instead of one per step
/// (SQLite's per-statement work dominated the per-row work). 14 parameters each, 448 in all.
let stepsPerInsert = 32

/// The step insert for `rows` rows with conflict resolution `conflict` (IGNORE or REPLACE), prepared once
/// per connection.
private func insertSteps(rows: Int, conflict: String) -> String {
    let row = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    return "INSERT OR \(conflict) INTO steps (\(stepColumns)) VALUES "
        + Array(repeating: row, count: rows).joined(separator: ", ")
}

/// The statements of a step commit, taken from the connection's cache.
private struct StepInserts {
    let manyNew, manyAll, oneNew, oneAll, addCount: Statement

    static let sql = (
        manyNew: insertSteps(rows: stepsPerInsert, conflict: "IGNORE"),
        manyAll: insertSteps(rows: stepsPerInsert, conflict: "REPLACE"),
        oneNew: insertSteps(rows: 1, conflict: "IGNORE"), oneAll: insertSteps(rows: 1, conflict: "REPLACE"),
        addCount: "UPDATE runs SET step_count = step_count + ? WHERE id = ?"
    )

    init(_ conn: SQLiteConnection) throws(SQLiteFailure) {
        manyNew = try conn.cached(Self.sql.manyNew)
        manyAll = try conn.cached(Self.sql.manyAll)
        oneNew = try conn.cached(Self.sql.oneNew)
        oneAll = try conn.cached(Self.sql.oneAll)
        addCount = try conn.cached(Self.sql.addCount)
    }

    /// Resets every statement, so that none holds a read transaction open.
    func reset() {
        for s in [manyNew, manyAll, oneNew, oneAll, addCount] { s.reset() }
    }

    /// Inserts `rows` (steps of one run, in order) and returns how many of them are new rows.
    ///
    /// Steps are keyed by (run, rank, step) and a later step replaces an earlier one with the same key
    /// (``RunStore/append(_:)`` retries, duplicates within a batch). Each chunk is inserted with
    /// `OR IGNORE` first: `changes` is then exactly the number of new keys (a key repeated within the
    /// chunk counts once; REPLACE could not tell a new row from a replaced one, as `sqlite3_changes`
    /// counts both). Only when some row was ignored is the chunk inserted again with `OR REPLACE`, which
    /// leaves the last row of each key, as one REPLACE pass would, and adds no rows. A chunk of new
    /// steps, the common case, costs one statement as before.
    func insert(_ rows: ArraySlice<StepEvent>, conn: SQLiteConnection) throws(SQLiteFailure) -> Int {
        var added = 0
        var start = rows.startIndex
        while start < rows.endIndex {
            let wide = rows.endIndex - start >= stepsPerInsert
            let end = wide ? start + stepsPerInsert : start + 1
            let chunk = rows[start..<end]
            let fresh = wide ? manyNew : oneNew, replace = wide ? manyAll : oneAll
            try run(fresh, chunk)
            let inserted = conn.changes
            if inserted < chunk.count { try run(replace, chunk) }
            added += inserted
            start = end
        }
        return added
    }

    /// Adds `count` rows to the stored step count of run `runId`.
    func add(_ count: Int, to runId: String) throws(SQLiteFailure) {
        addCount.reset()
        try addCount.bind(1, integer: Int64(count))
        try addCount.bind(2, text: runId)
        _ = try addCount.step()
        addCount.reset()
    }

    private func run(_ stmt: Statement, _ chunk: ArraySlice<StepEvent>) throws(SQLiteFailure) {
        stmt.reset()
        for (offset, e) in chunk.enumerated() { try bind(e, to: stmt, at: Int32(1 + 14 * offset)) }
        _ = try stmt.step()
    }
}

/// `batch` grouped by run, runs in order of first appearance, each run's steps in their order (the
/// order that matters: a later step replaces an earlier one with the same key, and keys of different
/// runs never collide). A batch of one run, the common case, is returned as it is.
private func groupedByRun(_ batch: [StepEvent]) -> [(runId: String, steps: ArraySlice<StepEvent>)] {
    guard let first = batch.first?.runId else { return [] }
    if batch.allSatisfy({ $0.runId == first }) { return [(first, batch[...])] }
    var order: [String] = []
    var groups: [String: [StepEvent]] = [:]
    for e in batch {
        if groups[e.runId] == nil { order.append(e.runId) }
        groups[e.runId, default: []].append(e)
    }
    return order.map { ($0, groups[$0, default: []][...]) }
}

/// Binds `e` as the row starting at parameter `first` of a step insert.
private func bind(_ e: StepEvent, to stmt: Statement, at first: Int32) throws(SQLiteFailure) {
    try stmt.bind(first, text: e.runId)
    try stmt.bind(first + 1, integer: Int64(e.rank))
    try stmt.bind(first + 2, integer: Int64(e.step))
    try stmt.bind(first + 3, integer: Int64(e.epoch))
    try stmt.bind(first + 4, number: e.loss)
    try stmt.bind(first + 5, number: e.gradNorm)
    try stmt.bind(first + 6, number: e.lr)
    try stmt.bind(first + 7, number: e.dataWaitSeconds)
    try stmt.bind(first + 8, number: e.computeSeconds)
    try stmt.bind(first + 9, number: e.samplesPerSecond)
    try stmt.bind(first + 10, text: e.fingerprint)
    try stmt.bind(first + 11, text: e.labelHistogram.map { "[" + $0.map(String.init).joined(separator: ",") + "]" })
    try stmt.bind(first + 12, number: e.allreduceSeconds)
    try stmt.bind(first + 13, integer: e.worldSize.map(Int64.init))
}

/// Commits `batch` in one transaction, with each run's `step_count` raised by the rows it actually
/// gained in that same transaction (replaced steps add nothing), so the count is exactly the run's rows.
private func commit(_ batch: [StepEvent], db: Guarded<SQLiteConnection?>, path: String) -> StoreError? {
    db.withLock { conn -> StoreError? in
        guard let conn else { return .closed }
        do throws(SQLiteFailure) {
            let inserts = try StepInserts(conn)
            try conn.execute("BEGIN IMMEDIATE")
            do throws(SQLiteFailure) {
                for (runId, steps) in groupedByRun(batch) {
                    let added = try inserts.insert(steps, conn: conn)
                    if added > 0 { try inserts.add(added, to: runId) }
                }
                inserts.reset()
                try conn.execute("COMMIT")
            } catch {
                inserts.reset()
                try? conn.execute("ROLLBACK")
                throw error
            }
            return nil
        } catch {
            return .sqlite(path: path, code: error.code, message: error.message)
        }
    }
}
