import Foundation
import XCTest

@testable import SaddleTraining

final class EventSinkTests: XCTestCase {
    private func step(_ s: Int) -> RunEvent { .step(StepEvent(runId: "r", step: s, loss: Double(s))) }

    func testFullBufferKeepsTheLatestAndCountsDrops() {
        let sink = EventSink(capacity: 3)
        for s in 0..<10 { sink.publish(step(s)) }
        let finished = RunFinished(runId: "r", reason: .completed, steps: 10, lastLoss: 9)
        sink.publish(.finished(finished))
        sink.publish(step(10))  // still bounded after the finished event
        let d = sink.take(timeout: 0)
        XCTAssertEqual(d.events, [step(8), step(9), .finished(finished), step(10)])
        XCTAssertEqual(d.dropped, 8)
        XCTAssertEqual(sink.totalDropped, 8)
        let empty = sink.take(timeout: 0.01)
        XCTAssertEqual(empty, EventSink.Delivery(events: [], dropped: 0), "drop count resets per delivery")
    }

    func testTakeWaitsForAPublisherAndCloseWakesIt() {
        let sink = EventSink(capacity: 4)
        let event = step(1)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.02) { sink.publish(event) }
        XCTAssertEqual(sink.take(max: 1, timeout: 5).events, [step(1)])
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.02) { sink.close() }
        let start = Date()
        XCTAssertEqual(sink.take(timeout: 5).events, [])
        XCTAssertLessThan(Date().timeIntervalSince(start), 4)
    }

    func testSlowConsumerNeverBlocksTraining() throws {
        // A consumer that takes one event per 5 ms against a run of 2000 fast steps: the run finishes
        // all steps, the store holds all of them, and the consumer sees the latest ones plus a drop count
        // that accounts exactly for the rest.
        let store = try RunStore(path: ":memory:")
        let sink = EventSink(capacity: 8)
        let pipeline = try DataPipeline(
            source: labelledSource(samples: 64, classes: 4), config: PipelineConfig(batchSize: 8),
            seed: 1)
        let run = TrainingRun(
            id: "s", parameters: Quadratic.p0, gradient: Quadratic.function(), pipeline: pipeline,
            optimizer: OptimizerConfig(kind: .sgd, lr: 0.01), length: .steps(2000), seed: 0, store: store,
            sink: sink)
        let consumed = Guarded<(steps: [Int], dropped: Int, finished: RunFinished?)>(([], 0, nil))
        let done = DispatchSemaphore(value: 0)
        Thread {
            while true {
                let d = sink.take(max: 1, timeout: 5)
                let end: Bool = consumed.withLock { c in
                    c.dropped += d.dropped
                    for e in d.events {
                        switch e {
                        case .step(let s): c.steps.append(s.step)
                        case .finished(let f): c.finished = f
                        }
                    }
                    return c.finished != nil || (d.events.isEmpty && d.dropped == 0)
                }
                if end { break }
                Thread.sleep(forTimeInterval: 0.005)
            }
            done.signal()
        }.start()
        try run.start()
        let finished = try XCTUnwrap(run.waitUntilFinished(timeout: 20))
        XCTAssertEqual(finished.reason, .completed)
        XCTAssertEqual(finished.steps, 2000)
        XCTAssertEqual(try store.stepCount(runId: "s"), 2000)
        XCTAssertEqual(done.wait(timeout: .now() + 20), .success)
        let c = consumed.withLock { $0 }
        XCTAssertEqual(c.finished, finished, "the finished event is never dropped")
        XCTAssertGreaterThan(c.dropped, 0, "a 5 ms consumer cannot keep up with thousands of steps per second")
        XCTAssertEqual(c.steps.count + c.dropped, 2000, "every step is either delivered or counted as dropped")
        XCTAssertEqual(c.steps.last, 1999, "the consumer ends with the latest step")
        XCTAssertEqual(c.steps, c.steps.sorted(), "delivered in order")
    }
}
