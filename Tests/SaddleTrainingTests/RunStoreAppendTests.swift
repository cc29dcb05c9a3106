import Foundation
import XCTest

@testable import SaddleTraining

/// `RunStore.append`: one call, one transaction; concurrent calls share transactions (group commit).
final class RunStoreAppendTests: XCTestCase {
    private static func events(_ steps: Range<Int>, run: String = "r", rank: Int = 0) -> [StepEvent] {
        steps.map { StepEvent(runId: run, rank: rank, step: $0, loss: 1 / Double($0 + 1), computeSeconds: 0.01) }
    }

    func testOneCallIsOneTransactionWhateverMaxBatch() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("saddle-append-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: file + suffix) } }
        let store = try RunStore(path: file, maxBatch: 100)
        try store.createRun(id: "r", name: "r", kind: .ingested, config: .null)
        try store.append(Self.events(0..<1000))
        XCTAssertEqual(store.writerStats, RunStore.WriterStats(commits: 1, steps: 1000), "not cut at maxBatch")
        try store.append(Self.events(1000..<1001))
        XCTAssertEqual(store.writerStats, RunStore.WriterStats(commits: 2, steps: 1001))
        XCTAssertEqual(try store.stepCount(runId: "r"), 1001)
        // Queued steps of an own run still go in batches of at most maxBatch.
        try store.createRun(id: "own", name: "own", kind: .own, config: .null)
        store.enqueue(Self.events(0..<250, run: "own"))
        try store.flush()
        XCTAssertEqual(store.writerStats, RunStore.WriterStats(commits: 5, steps: 1251))
        store.close()
        let reopened = try RunStore(path: file)
        XCTAssertEqual(try reopened.steps(runId: "r").map(\.step), Array(0..<1001))
        XCTAssertEqual(try reopened.stepCount(runId: "own"), 250)
    }

    func testALaterEventForTheSameStepWinsWithinAndAcrossInsertChunks() throws {
        let store = try RunStore(path: ":memory:")
        try store.createRun(id: "r", name: "r", kind: .ingested, config: .null)
        // 70 events: steps 0…63, then steps 5 (same 32-row chunk as its first copy: rows 0…31), 40
        // (the second chunk) and 0…3 again (the tail after two full chunks), with new losses.
        var batch = Self.events(0..<64)
        for step in [5, 40, 0, 1, 2, 3] { batch.append(StepEvent(runId: "r", step: step, loss: 100 + Double(step))) }
        XCTAssertEqual(batch.count, 70)
        try store.append(batch)
        let stored = try store.steps(runId: "r")
        XCTAssertEqual(stored.map(\.step), Array(0..<64))
        for e in stored {
            let replaced = [5, 40, 0, 1, 2, 3].contains(e.step)
            XCTAssertEqual(e.loss, replaced ? 100 + Double(e.step) : 1 / Double(e.step + 1), "step \(e.step)")
            XCTAssertEqual(e.computeSeconds, replaced ? nil : 0.01)
        }
    }

    func testConcurrentCallsAreAllCommittedAndNeverSplit() throws {
        let store = try RunStore(path: ":memory:", maxBatch: 64)
        try store.createRun(id: "r", name: "r", kind: .ingested, config: .null)
        // 8 ranks × 20 calls × 300 steps from 8 threads at once.
        let failures = Guarded(0)
        DispatchQueue.concurrentPerform(iterations: 8) { rank in
            for call in 0..<20 {
                do { try store.append(Self.events((call * 300)..<((call + 1) * 300), rank: rank)) } catch {
                    failures.withLock { $0 += 1 }
                }
            }
        }
        XCTAssertEqual(failures.withLock { $0 }, 0)
        for rank in 0..<8 {
            XCTAssertEqual(try store.steps(runId: "r", rank: rank).map(\.step), Array(0..<6000), "rank \(rank)")
        }
        let stats = store.writerStats
        XCTAssertEqual(stats.steps, 8 * 6000)
        // At most one transaction per call: cutting calls at maxBatch 64 would take at least 5 per call (800).
        XCTAssertLessThanOrEqual(stats.commits, 160)
        XCTAssertGreaterThanOrEqual(stats.commits, 1)
    }
}
