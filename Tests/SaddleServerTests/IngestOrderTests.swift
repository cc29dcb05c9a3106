import Foundation
import XCTest
@testable import SaddleJSON
@testable import SaddleServer

/// `run/ingest` then `run/stop` of an ingested run, pipelined: the stop waits for the ingests that arrived before it.
final class IngestOrderTests: XCTestCase {
    private func steps(_ range: Range<Int>) -> JSON {
        .array(range.map { ["step": .int($0), "loss": .double(1 / Double($0 + 1)), "gradNorm": 0.5] })
    }

    func testAStopSentAfterPipelinedIngestsFinishesTheRunAfterThemAll() throws {
        // Without the ordering the stop, on a thread of its own, often marked the run finished before the later
        // ingests committed, and they were refused (-31003 "has finished").
        for _ in 0..<6 {
            let h = ServerHarness()
            let created = try h.call("run/ingest", ["name": "pipelined", "steps": steps(0..<1)])
            let run = try XCTUnwrap(created["run"]?.stringValue)
            let batches = 30, size = 400
            let ingests = (0..<batches).map { b in
                h.send("run/ingest", ["run": .string(run), "steps": steps(1 + b * size..<1 + (b + 1) * size)])
            }
            let stop = h.send("run/stop", ["run": .string(run)])
            for (b, id) in ingests.enumerated() {
                let answer = h.waitForAnswer(id)
                XCTAssertEqual(answer["result"]?["accepted"], .int(size), "batch \(b): \(answer)")
            }
            let stopped = h.waitForAnswer(stop)
            XCTAssertEqual(stopped["result"]?["state"], "finished", "\(stopped)")
            XCTAssertEqual(stopped["result"]?["step"], .int(1 + batches * size), "every event counted before the stop")
            let late = try? h.call("run/ingest", ["run": .string(run), "steps": steps(100_000..<100_001)])
            XCTAssertNil(late, "an ingest after the stop is refused")
        }
    }
}
