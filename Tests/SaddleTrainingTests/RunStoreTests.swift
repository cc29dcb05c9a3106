import CSQLite
import Foundation
import SaddleJSON
import XCTest

@testable import SaddleTraining

final class RunStoreTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("saddle-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func path(_ name: String = "runs.sqlite") -> String { directory.appendingPathComponent(name).path }

    private func event(_ step: Int, loss: Double, run: String = "r1", rank: Int = 0) -> StepEvent {
        StepEvent(
            runId: run, rank: rank, step: step, epoch: step / 10, loss: loss, gradNorm: 0.5 * loss, lr: 0.1,
            dataWaitSeconds: 0.001, computeSeconds: 0.002, samplesPerSecond: 1000, fingerprint: "00000000000000ff",
            labelHistogram: [1, 2, 3])
    }

    /// The ranks of a run by a loose index scan, and each rank's first and last steps by range reads.
    func testRanksAndEdgeStepsOfADistributedRun() throws {
        let store = try RunStore(path: ":memory:")
        try store.createRun(id: "r1", name: "ddp", kind: .ingested, config: [:])
        try store.createRun(id: "r2", name: "other", kind: .ingested, config: [:])
        try store.append([0, 3, 7].flatMap { rank in (0..<50).map { event($0, loss: 1, rank: rank) } })
        try store.append([event(0, loss: 1, run: "r2", rank: 5)])
        XCTAssertEqual(try store.ranks(runId: "r1"), [0, 3, 7])
        XCTAssertEqual(try store.ranks(runId: "r2"), [5])
        XCTAssertEqual(try store.ranks(runId: "none"), [])
        let edges = try store.edgeSteps(runId: "r1", ranks: [0, 7], head: 4, tail: 6)
        XCTAssertEqual(edges.map(\.rank), [Int](repeating: 0, count: 10) + [Int](repeating: 7, count: 10))
        XCTAssertEqual(edges.prefix(10).map(\.step), [0, 1, 2, 3, 44, 45, 46, 47, 48, 49])
        // Overlapping head and tail give each step once.
        XCTAssertEqual(try store.edgeSteps(runId: "r1", ranks: [3], head: 40, tail: 40).map(\.step), Array(0..<50))
    }

    func testRoundTripIncludingNonFiniteValues() throws {
        let store = try RunStore(path: ":memory:")
        try store.createRun(id: "r1", name: "first", kind: .ingested, config: ["optimizer": ["kind": "adam"]])
        var events = [event(0, loss: 2.5), event(1, loss: .nan), event(2, loss: .infinity), event(3, loss: -.infinity)]
        events[1].gradNorm = .nan
        events[2].gradNorm = nil  // not reported: stays absent, distinct from NaN
        events[3].labelHistogram = nil
        events[3].fingerprint = nil
        try store.append(events)
        let back = try store.steps(runId: "r1")
        XCTAssertEqual(back, events)  // StepEvent's == treats NaN as equal to NaN
        XCTAssertTrue(back[1].loss.isNaN && back[1].gradNorm?.isNaN == true)
        XCTAssertEqual(back[2].loss, .infinity)
        XCTAssertNil(back[2].gradNorm)
        XCTAssertEqual(back[3].loss, -.infinity)
        let run = try XCTUnwrap(try store.run(id: "r1"))
        XCTAssertEqual(run.name, "first")
        XCTAssertEqual(run.kind, .ingested)
        XCTAssertEqual(run.state, .created)
        XCTAssertEqual(run.config, ["optimizer": ["kind": "adam"]])
        try store.finishRun(id: "r1", reason: .diverged(step: 1))
        let finished = try XCTUnwrap(try store.run(id: "r1"))
        XCTAssertEqual(finished.state, .finished)
        XCTAssertEqual(finished.finishReason, "diverged")
        XCTAssertEqual(finished.finishMessage, "loss became non-finite at step 1")
        // Appending a step again replaces it (client retries are idempotent).
        try store.append([event(0, loss: 1.0)])
        XCTAssertEqual(try store.steps(runId: "r1").first?.loss, 1.0)
        XCTAssertEqual(try store.stepCount(runId: "r1"), 4)
    }

    func testAppendToUnknownRunIsRejected() throws {
        let store = try RunStore(path: ":memory:")
        XCTAssertThrowsError(try store.append([event(0, loss: 1, run: "ghost")])) {
            XCTAssertEqual($0 as? StoreError, .unknownRun("ghost"))
        }
        try store.createRun(id: "r1", name: "x", kind: .own, config: .null)
        XCTAssertThrowsError(try store.createRun(id: "r1", name: "again", kind: .own, config: .null)) {
            XCTAssertTrue("\($0)".contains("a run with this id already exists"), "\($0)")
        }
    }

    func testEnqueuedStepsAreCommittedInBatchesAndSurviveReopen() throws {
        let file = path()
        do {
            let store = try RunStore(path: file, durability: .processCrash, flushInterval: 0.01, maxBatch: 100)
            try store.createRun(id: "r1", name: "a", kind: .own, config: .null)
            try store.createRun(id: "r2", name: "b", kind: .own, config: .null)
            for s in 0..<1000 { store.enqueue([event(s, loss: 1 / Double(s + 1))]) }
            store.enqueue((0..<5).map { event($0, loss: 1, run: "r2", rank: 1) })
            try store.flush()
            XCTAssertEqual(try store.stepCount(runId: "r1"), 1000)
            store.close()
            XCTAssertThrowsError(try store.listRuns()) { XCTAssertEqual($0 as? StoreError, .closed) }
        }
        let reopened = try RunStore(path: file)
        XCTAssertEqual(try reopened.listRuns().map(\.id).sorted(), ["r1", "r2"])
        XCTAssertEqual(try reopened.stepCount(runId: "r1"), 1000)
        XCTAssertEqual(try reopened.stepCount(runId: "r2", rank: 1), 5)
        XCTAssertEqual(try reopened.stepCount(runId: "r2", rank: 0), 0)
        XCTAssertEqual(try reopened.steps(runId: "r1", fromStep: 998).map(\.step), [998, 999])
        // WAL mode on disk.
        XCTAssertTrue(FileManager.default.fileExists(atPath: file + "-wal"))
    }

    func testCommitsAreBatched() throws {
        // 2000 steps enqueued at once with maxBatch 500: exactly four transactions, not 2000.
        let store = try RunStore(path: path(), durability: .powerLoss, flushInterval: 0.005, maxBatch: 500)
        try store.createRun(id: "r1", name: "a", kind: .own, config: .null)
        store.enqueue((0..<2000).map { event($0, loss: 1) })
        try store.flush()
        XCTAssertEqual(try store.stepCount(runId: "r1"), 2000)
        XCTAssertEqual(store.writerStats, RunStore.WriterStats(commits: 4, steps: 2000))
        // Steps trickling in one at a time still share transactions (the writer gathers for 5 ms).
        for s in 2000..<2200 { store.enqueue([event(s, loss: 1)]) }
        try store.flush()
        XCTAssertEqual(store.writerStats.steps, 2200)
        XCTAssertLessThan(store.writerStats.commits, 4 + 200)
    }

    func testNewerSchemaIsRefusedWithAClearError() throws {
        let file = path()
        do {
            let store = try RunStore(path: file)
            store.close()
        }
        var db: OpaquePointer?
        XCTAssertEqual(sqlite3_open(file, &db), SQLITE_OK)
        XCTAssertEqual(sqlite3_exec(db, "PRAGMA user_version = 7", nil, nil, nil), SQLITE_OK)
        sqlite3_close(db)
        XCTAssertThrowsError(try RunStore(path: file)) { error in
            XCTAssertEqual(error as? StoreError, .newerSchema(path: file, found: 7, supported: 3))
            XCTAssertEqual(
                "\(error)",
                "store at \(file) has schema version 7; this saddled supports up to 3 — upgrade saddled or pass a different --store"
            )
        }
    }

    func testCorruptFileIsRefusedAndLeftAlone() throws {
        let file = path()
        let garbage = Data((0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        try garbage.write(to: URL(fileURLWithPath: file))
        XCTAssertThrowsError(try RunStore(path: file)) { error in
            guard case .corrupt(let p, _) = error as? StoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(p, file)
            XCTAssertTrue("\(error)".hasSuffix("move it aside or pass a different --store"), "\(error)")
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: file)), garbage, "never overwritten")
    }

    func testForeignDatabaseIsRefused() throws {
        let file = path()
        var db: OpaquePointer?
        XCTAssertEqual(sqlite3_open(file, &db), SQLITE_OK)
        XCTAssertEqual(
            sqlite3_exec(db, "CREATE TABLE notes (x TEXT); INSERT INTO notes VALUES ('mine')", nil, nil, nil), SQLITE_OK)
        sqlite3_close(db)
        XCTAssertThrowsError(try RunStore(path: file)) {
            XCTAssertEqual($0 as? StoreError, .corrupt(path: file, detail: "schema version 0 with tables notes"))
        }
    }

    func testDownsamplingByEqualCountBuckets() throws {
        let store = try RunStore(path: ":memory:")
        try store.createRun(id: "r1", name: "a", kind: .own, config: .null)
        // Losses 0…99; step 57's loss is NaN.
        var events = (0..<100).map { event($0, loss: Double($0)) }
        events[57].loss = .nan
        try store.append(events)
        let h = try store.history(runId: "r1", maxPoints: 10)
        XCTAssertTrue(h.downsampled)
        XCTAssertEqual(h.totalSteps, 100)
        XCTAssertEqual(h.points.count, 10)
        XCTAssertEqual(h.points.map(\.count), [Int](repeating: 10, count: 10))
        XCTAssertEqual(h.points[0].loss, 4.5)  // mean of 0…9, exact in float64
        XCTAssertEqual(h.points[0].lossMin, 0)
        XCTAssertEqual(h.points[0].lossMax, 9)
        XCTAssertEqual(h.points[0].firstStep, 0)
        XCTAssertEqual(h.points[0].step, 9)
        XCTAssertTrue(h.points[5].loss.isNaN, "a NaN in the bucket is not averaged away")
        XCTAssertEqual(h.points[5].lossMax, 59)
        XCTAssertNil(h.points[0].fingerprint, "bucket points carry no per-batch data")
        // Range and no downsampling below the limit.
        let part = try store.history(runId: "r1", fromStep: 10, toStep: 14, maxPoints: 10)
        XCTAssertFalse(part.downsampled)
        XCTAssertEqual(part.points.map(\.step), [10, 11, 12, 13, 14])
        XCTAssertEqual(part.points[0].fingerprint, "00000000000000ff")
        // Uneven split: 100 steps into 3 buckets of 33, 33, 34.
        XCTAssertEqual(try store.history(runId: "r1", maxPoints: 3).points.map(\.count), [33, 33, 34])
    }

    func testDiagnosesAreStored() throws {
        let store = try RunStore(path: ":memory:")
        try store.createRun(id: "r1", name: "a", kind: .own, config: .null)
        try store.addDiagnosis(runId: "r1", step: 40, verdict: "saddle", detail: ["lambdaMin": -0.5])
        let d = try store.diagnoses(runId: "r1")
        XCTAssertEqual(d.map(\.verdict), ["saddle"])
        XCTAssertEqual(d.first?.step, 40)
        XCTAssertEqual(d.first?.detail, ["lambdaMin": -0.5])
    }

    func testDefaultPathPolicy() {
        XCTAssertEqual(
            defaultRunStorePath(environment: ["XDG_STATE_HOME": "/x/state", "HOME": "/home/u"]),
            "/x/state/saddle/runs.sqlite")
        XCTAssertEqual(
            defaultRunStorePath(environment: ["XDG_STATE_HOME": "relative", "HOME": "/home/u"]),
            "/home/u/.local/state/saddle/runs.sqlite", "relative XDG paths are ignored")
        XCTAssertEqual(defaultRunStorePath(environment: ["HOME": "/home/u"]), "/home/u/.local/state/saddle/runs.sqlite")
    }

    func testCreatesParentDirectories() throws {
        let file = directory.appendingPathComponent("a/b/runs.sqlite").path
        let store = try RunStore(path: file)
        try store.createRun(id: "r", name: "r", kind: .own, config: .null)
        store.close()
        XCTAssertTrue(FileManager.default.fileExists(atPath: file))
    }
}
