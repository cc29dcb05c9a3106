import CSQLite
import Foundation
import XCTest

@testable import SaddleTraining

/// Schema version 3: each run's stored `step_count`, kept in the transaction of every step commit (the
/// trainer's queued writes and ingestion's appends), backfilled when an older store is migrated. Every
/// test reads the file with its own SQLite connection and compares `stepCount` with `SELECT count(*)`
/// exactly, and with hand-computed counts: a counter that is not maintained stays 0 (or its backfilled
/// value) and fails them, and one that counted replaced rows as new would exceed the rows.
final class StepCountTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("saddle-stepcount-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func file(_ name: String) -> String { directory.appendingPathComponent(name).path }

    private static func events(_ steps: some Sequence<Int>, run: String, rank: Int = 0, loss: Double = 1) -> [StepEvent] {
        steps.map { StepEvent(runId: run, rank: rank, step: $0, loss: loss) }
    }

    /// The first column of the first row of `query` on the file, through a connection of its own.
    private func integer(_ path: String, _ query: String) -> Int? {
        var db: OpaquePointer?
        var stmt: OpaquePointer?
        defer {
            sqlite3_finalize(stmt)
            sqlite3_close(db)
        }
        guard sqlite3_open(path, &db) == SQLITE_OK, sqlite3_prepare_v2(db, query, -1, &stmt, nil) == SQLITE_OK,
            sqlite3_step(stmt) == SQLITE_ROW
        else { return nil }
        return Int(sqlite3_column_int64(stmt, 0))
    }

    private func rows(_ path: String, _ run: String) -> Int? {
        integer(path, "SELECT count(*) FROM steps WHERE run_id = '\(run)'")
    }

    private func storedCount(_ path: String, _ run: String) -> Int? {
        integer(path, "SELECT step_count FROM runs WHERE id = '\(run)'")
    }

    private func exec(_ path: String, _ text: String) {
        var db: OpaquePointer?
        XCTAssertEqual(sqlite3_open(path, &db), SQLITE_OK)
        var err: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(db, text, nil, nil, &err)
        XCTAssertEqual(rc, SQLITE_OK, err.map { String(cString: $0) } ?? "")
        sqlite3_free(err)
        sqlite3_close(db)
    }

    /// The asserted count, the stored column and the rows themselves agree exactly.
    private func assertCount(
        _ store: RunStore, _ path: String, _ run: String, _ expected: Int,
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        XCTAssertEqual(try store.stepCount(runId: run), expected, "stepCount of \(run)", file: file, line: line)
        XCTAssertEqual(rows(path, run), expected, "rows of \(run)", file: file, line: line)
        XCTAssertEqual(storedCount(path, run), expected, "step_count of \(run)", file: file, line: line)
        XCTAssertEqual(try store.run(id: run)?.stepCount, expected, "RunRecord.stepCount of \(run)", file: file, line: line)
    }

    func testTrainersQueuedStepsAreCountedPerRunInTheirCommit() throws {
        let path = file("own.sqlite")
        // maxBatch 40: commits cut across 32-row chunks, and each batch mixes two runs.
        let store = try RunStore(path: path, maxBatch: 40)
        try store.createRun(id: "a", name: "a", kind: .own, config: .null)
        try store.createRun(id: "b", name: "b", kind: .own, config: .null)
        try store.createRun(id: "idle", name: "idle", kind: .own, config: .null)
        // Two trainers interleaved step by step: a gets 0..<300 (rank 0) and b gets 0..<150 on ranks 0 and 1.
        for s in 0..<300 {
            store.enqueue(Self.events([s], run: "a"))
            if s < 150 {
                store.enqueue(Self.events([s], run: "b", rank: 0))
                store.enqueue(Self.events([s], run: "b", rank: 1))
            }
        }
        try store.flush()
        try assertCount(store, path, "a", 300)
        try assertCount(store, path, "b", 300)
        try assertCount(store, path, "idle", 0)
        XCTAssertEqual(try store.stepCount(runId: "b", rank: 1), 150, "per rank: counted from the rows")
        XCTAssertEqual(try store.stepCount(runId: "missing"), 0)
        // A step queued again (the same key) replaces its row and adds nothing; new ones add one each.
        store.enqueue(Self.events(250..<310, run: "a", loss: 7))
        try store.flush()
        try assertCount(store, path, "a", 310)
        XCTAssertEqual(try store.steps(runId: "a", fromStep: 250, toStep: 250).map(\.loss), [7], "the later step won")
        let listed = try store.listRuns()
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: listed.map { ($0.id, $0.stepCount) }), ["a": 310, "b": 300, "idle": 0])
    }

    func testIngestedStepsCountOnlyRowsActuallyAdded() throws {
        let path = file("ingest.sqlite")
        let store = try RunStore(path: path)
        try store.createRun(id: "r", name: "r", kind: .ingested, config: .null)
        try store.createRun(id: "s", name: "s", kind: .ingested, config: .null)
        // 1000 new steps: 31 full 32-row chunks and an 8-row tail.
        try store.append(Self.events(0..<1000, run: "r"))
        try assertCount(store, path, "r", 1000)
        // A retried call that overlaps: 500…1499, of which 500 are new.
        try store.append(Self.events(500..<1500, run: "r", loss: 2))
        try assertCount(store, path, "r", 1500)
        // Duplicates within one call, inside a full chunk and in the tail: 70 events, 40 distinct new keys
        // (1500…1539), each repeated key once more with a later loss.
        var batch = Self.events(1500..<1540, run: "r", loss: 3)
        batch += Self.events(1500..<1530, run: "r", loss: 4)
        XCTAssertEqual(batch.count, 70)
        try store.append(batch)
        try assertCount(store, path, "r", 1540)
        XCTAssertEqual(try store.steps(runId: "r", fromStep: 1529, toStep: 1530).map(\.loss), [4, 3], "the later event wins")
        XCTAssertEqual(try store.steps(runId: "r", fromStep: 700, toStep: 700).map(\.loss), [2])
        // One call for two runs, their events interleaved, one of them entirely a retry: r gains 0, s 64.
        var mixed: [StepEvent] = []
        for s in 0..<64 {
            mixed += Self.events([s], run: "s", rank: s % 2)
            mixed += Self.events([s], run: "r")
        }
        try store.append(mixed)
        try assertCount(store, path, "r", 1540)
        try assertCount(store, path, "s", 64)
    }

    func testAFailedCommitAddsNothingToAnyCount() throws {
        let path = file("failed.sqlite")
        let store = try RunStore(path: path)
        try store.createRun(id: "a", name: "a", kind: .own, config: .null)
        store.enqueue(Self.events(0..<10, run: "a"))
        try store.flush()
        // One batch: new steps of a, then a step of a run the store lacks (a foreign-key failure): the
        // whole transaction rolls back, the count with it.
        store.enqueue(Self.events(10..<50, run: "a") + Self.events([0], run: "ghost"))
        XCTAssertThrowsError(try store.flush())
        try assertCount(store, path, "a", 10)
    }

    func testCountsSurviveReopening() throws {
        let path = file("reopen.sqlite")
        do {
            let store = try RunStore(path: path)
            try store.createRun(id: "own", name: "own", kind: .own, config: .null)
            try store.createRun(id: "in", name: "in", kind: .ingested, config: .null)
            store.enqueue(Self.events(0..<123, run: "own"))
            try store.append(Self.events(0..<77, run: "in", rank: 3))
            store.close()
        }
        XCTAssertEqual(storedCount(path, "own"), 123, "stored in the file, not recomputed at open")
        XCTAssertEqual(storedCount(path, "in"), 77)
        let reopened = try RunStore(path: path)
        try assertCount(reopened, path, "own", 123)
        try assertCount(reopened, path, "in", 77)
        try reopened.append(Self.events(77..<80, run: "in", rank: 3))
        try assertCount(reopened, path, "in", 80)
    }

    func testVersion2StoreMigratesToVersion3WithBackfilledCounts() throws {
        let path = file("v2.sqlite")
        // Three runs: ddp with 2 ranks × 150 steps, one with 7 steps, one with none.
        var steps: [String] = []
        for s in 0..<150 {
            for rank in 0..<2 {
                steps.append("('ddp', \(rank), \(s), 0, \(Double(s) * 0.5), NULL, 0.1, NULL, NULL, NULL, NULL, NULL, 0.01, 2)")
            }
        }
        for s in 0..<7 { steps.append("('small', 0, \(s), 0, 1.0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)") }
        exec(
            path,
            """
            PRAGMA journal_mode = WAL;
            BEGIN; \(FrozenSchemas.v2)
            INSERT INTO runs VALUES ('ddp', 'ddp', 'ingested', 'running', 'null', 1.0, 2.0, NULL, NULL);
            INSERT INTO runs VALUES ('small', 'small', 'own', 'finished', 'null', 0.5, 0.75, 'completed', NULL);
            INSERT INTO runs VALUES ('empty', 'empty', 'own', 'created', 'null', 0.25, 0.25, NULL, NULL);
            INSERT INTO steps VALUES \(steps.joined(separator: ", "));
            PRAGMA user_version = 2; COMMIT;
            """)
        XCTAssertEqual(integer(path, "PRAGMA user_version"), 2)
        XCTAssertNil(storedCount(path, "ddp"), "no step_count column before the migration")

        let store = try RunStore(path: path)
        XCTAssertEqual(integer(path, "PRAGMA user_version"), 3, "migrated in place")
        try assertCount(store, path, "ddp", 300)
        try assertCount(store, path, "small", 7)
        try assertCount(store, path, "empty", 0)
        XCTAssertEqual(try store.listRuns().map(\.stepCount), [300, 7, 0], "newest first: ddp, small, empty")
        XCTAssertEqual(try store.steps(runId: "ddp", rank: 1).count, 150, "no step lost")
        // The migrated store keeps counting, and reopens at version 3 without migrating again.
        try store.append(Self.events(150..<160, run: "ddp", rank: 1))
        store.close()
        let reopened = try RunStore(path: path)
        XCTAssertEqual(integer(path, "PRAGMA user_version"), 3)
        try assertCount(reopened, path, "ddp", 310)
        try assertCount(reopened, path, "small", 7)
    }
}
