import CSQLite
import Foundation
import SaddleJSON
import XCTest

@testable import SaddleTraining

/// Schema version 2 (distributed-run fields) and the in-place migration of version-1 stores (to the current
/// version, 3; version 2 stores: StepCountTests).
final class RunStoreMigrationTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("saddle-migrate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func sql(_ file: String, _ text: String) {
        var db: OpaquePointer?
        XCTAssertEqual(sqlite3_open(file, &db), SQLITE_OK)
        var err: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(db, text, nil, nil, &err)
        XCTAssertEqual(rc, SQLITE_OK, err.map { String(cString: $0) } ?? "")
        sqlite3_free(err)
        sqlite3_close(db)
    }

    private func userVersion(_ file: String) -> Int32 {
        var db: OpaquePointer?
        var stmt: OpaquePointer?
        defer {
            sqlite3_finalize(stmt)
            sqlite3_close(db)
        }
        guard sqlite3_open(file, &db) == SQLITE_OK, sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, nil) == SQLITE_OK,
            sqlite3_step(stmt) == SQLITE_ROW
        else { return -1 }
        return sqlite3_column_int(stmt, 0)
    }

    func testVersion1StoreIsMigratedInPlaceKeepingEveryStep() throws {
        let file = directory.appendingPathComponent("v1.sqlite").path
        // A version-1 store as an older saddled left it: two runs, 300 steps on two ranks (one NaN loss,
        // one histogram, one unreported gradNorm) and a diagnosis.
        var rows: [String] = []
        for s in 0..<150 {
            for rank in 0..<2 {
                let loss = s == 77 && rank == 1 ? "'NaN'" : "\(Double(s) * 0.5 + Double(rank))"
                let grad = s == 3 ? "NULL" : "\(Double(s) * 0.25)"
                let hist = s == 0 ? "'[4,5]'" : "NULL"
                rows.append("('r1', \(rank), \(s), \(s / 50), \(loss), \(grad), 0.1, 0.001, 0.002, 500.0, 'f\(s)', \(hist))")
            }
        }
        sql(
            file,
            """
            PRAGMA journal_mode = WAL;
            BEGIN; \(FrozenSchemas.v1)
            INSERT INTO runs VALUES ('r1', 'old', 'ingested', 'running', '{"source":"run/ingest"}', 1.0, 2.0, NULL, NULL);
            INSERT INTO runs VALUES ('r2', 'older', 'own', 'finished', 'null', 0.5, 0.75, 'completed', NULL);
            INSERT INTO steps VALUES \(rows.joined(separator: ", "));
            INSERT INTO diagnoses (run_id, step, verdict, detail, created_at) VALUES ('r1', 40, 'plateau', '{"x":1}', 3.0);
            PRAGMA user_version = 1; COMMIT;
            """)
        XCTAssertEqual(userVersion(file), 1)

        let store = try RunStore(path: file)
        XCTAssertEqual(userVersion(file), 3, "migrated in place (to the current version)")
        XCTAssertEqual(try store.listRuns().map(\.id), ["r1", "r2"])
        let r2 = try XCTUnwrap(try store.run(id: "r2"))
        XCTAssertEqual(r2.finishReason, "completed")
        XCTAssertEqual(try store.stepCount(runId: "r1"), 300)
        let steps = try store.steps(runId: "r1")
        XCTAssertEqual(steps.count, 300)
        // Every old step, value for value; the new fields are absent (NULL), not zero.
        for e in steps {
            XCTAssertEqual(e.epoch, e.step / 50)
            if e.step == 77 && e.rank == 1 {
                XCTAssertTrue(e.loss.isNaN)
            } else {
                XCTAssertEqual(e.loss, Double(e.step) * 0.5 + Double(e.rank), "exact: stored as REAL")
            }
            XCTAssertEqual(e.gradNorm, e.step == 3 ? nil : Double(e.step) * 0.25)
            XCTAssertEqual(e.lr, 0.1)
            XCTAssertEqual(e.samplesPerSecond, 500)
            XCTAssertEqual(e.fingerprint, "f\(e.step)")
            XCTAssertEqual(e.labelHistogram, e.step == 0 ? [4, 5] : nil)
            XCTAssertNil(e.allreduceSeconds)
            XCTAssertNil(e.worldSize)
        }
        XCTAssertEqual(steps.filter { $0.rank == 1 }.map(\.step), Array(0..<150))
        XCTAssertEqual(try store.diagnoses(runId: "r1").map(\.verdict), ["plateau"])
        // The migrated store takes the new fields, and reopens as version 3 without migrating again.
        try store.append([StepEvent(runId: "r1", rank: 1, step: 150, loss: 1, allreduceSeconds: 0.25, worldSize: 2)])
        store.close()
        let reopened = try RunStore(path: file)
        XCTAssertEqual(try reopened.stepCount(runId: "r1"), 301)
        let last = try XCTUnwrap(try reopened.steps(runId: "r1", fromStep: 150, rank: 1).first)
        XCTAssertEqual(last.allreduceSeconds, 0.25)
        XCTAssertEqual(last.worldSize, 2)
        XCTAssertEqual(userVersion(file), 3)
    }

    func testNewStoreIsVersion3AndNewerIsStillRefused() throws {
        let file = directory.appendingPathComponent("new.sqlite").path
        try RunStore(path: file).close()
        XCTAssertEqual(userVersion(file), Int32(RunStore.schemaVersion))
        XCTAssertEqual(RunStore.schemaVersion, 3)
        sql(file, "PRAGMA user_version = 4")
        XCTAssertThrowsError(try RunStore(path: file)) {
            XCTAssertEqual($0 as? StoreError, .newerSchema(path: file, found: 4, supported: 3))
        }
        XCTAssertEqual(userVersion(file), 4, "a newer store is left alone")
    }

    func testDistributedFieldsRoundTripAndHistoryBucketsThem() throws {
        let store = try RunStore(path: ":memory:")
        try store.createRun(id: "d", name: "ddp", kind: .ingested, config: .null)
        // Rank 1 of 2: all-reduce waits 0.01·(s+1) s; step 5 reports none.
        var events = (0..<10).map {
            StepEvent(
                runId: "d", rank: 1, step: $0, loss: 1, computeSeconds: 0.1,
                allreduceSeconds: 0.01 * Double($0 + 1), worldSize: 2)
        }
        events[5].allreduceSeconds = nil
        events.append(StepEvent(runId: "d", rank: 0, step: 0, loss: 1))
        try store.append(events)
        XCTAssertEqual(try store.steps(runId: "d", rank: 1), Array(events[0..<10]))
        let single = try store.history(runId: "d", rank: 1)
        XCTAssertEqual(single.points[2].allreduceSeconds, 0.03)
        XCTAssertEqual(single.points[2].worldSize, 2)
        XCTAssertEqual(single.points[2].json["allreduceSeconds"], .double(0.03))
        XCTAssertEqual(single.points[2].json["worldSize"], .int(2))
        XCTAssertNil(single.points[5].allreduceSeconds)
        XCTAssertNil(single.points[5].json["allreduceSeconds"], "absent when not reported")
        // Two buckets of five: means of the reported waits only (step 5 reported none).
        let h = try store.history(runId: "d", rank: 1, maxPoints: 2)
        let first = try XCTUnwrap(h.points.first?.allreduceSeconds)
        let second = try XCTUnwrap(h.points.last?.allreduceSeconds)
        // (0.01+…+0.05)/5 = 0.03 and (0.07+0.08+0.09+0.10)/4 = 0.085; 1e-15: a few float64 roundings.
        XCTAssertEqual(first, 0.03, accuracy: 1e-15)
        XCTAssertEqual(second, 0.085, accuracy: 1e-15)
        XCTAssertEqual(h.points.map(\.worldSize), [2, 2])
        // A rank that reports neither field gets neither.
        let rank0 = try store.history(runId: "d", rank: 0)
        XCTAssertNil(rank0.points[0].worldSize)
        XCTAssertNil(rank0.points[0].json["worldSize"])
    }
}
