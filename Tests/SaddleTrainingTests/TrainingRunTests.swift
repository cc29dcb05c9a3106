import Foundation
import SaddleJSON
import SaddleModels
import XCTest

@testable import SaddleTraining

final class TrainingRunTests: XCTestCase {
    private func makePipeline(
        samples: Int = 12, batchSize: Int = 3, faults: FaultInjection = FaultInjection(),
        prefetch: Int = 4, seed: UInt64 = 1
    ) throws -> DataPipeline<Double> {
        try DataPipeline(
            source: labelledSource(samples: samples, classes: 3),
            config: PipelineConfig(batchSize: batchSize, prefetch: prefetch, faults: faults), seed: seed)
    }

    /// The quadratic plus a batch-dependent linear term c·mean(x)·p₀, so the batch order matters.
    private static func batchDependent(sleep: Double = 0) -> GradientFunction<Double> {
        { params, batch, grad in
            if sleep > 0 { Thread.sleep(forTimeInterval: sleep) }
            let g = Quadratic.gradient(params)
            let c = 0.01 * batch.inputs.reduce(0, +) / Double(batch.rows)
            for i in 0..<3 { grad[i] = g[i] }
            grad[0] += c
            return Quadratic.loss(params) + c * params[0]
        }
    }

    private func waitFor(_ what: String, timeout: Double = 10, _ condition: () -> Bool) {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while !condition() {
            if Date() > deadline { return XCTFail("timed out waiting for \(what)") }
            Thread.sleep(forTimeInterval: 0.001)
        }
    }

    func testCompletedRunMatchesTheOptimizerAppliedByHand() throws {
        let store = try RunStore(path: ":memory:")
        let sink = EventSink(capacity: 1000)
        let config = OptimizerConfig(kind: .sgd, lr: 0.1)
        let run = TrainingRun(
            id: "q", parameters: Quadratic.p0, gradient: Quadratic.function(), pipeline: try makePipeline(),
            optimizer: config, length: .steps(20), seed: 0, store: store, sink: sink, config: ["lr": 0.1])
        try run.start()
        let finished = try XCTUnwrap(run.waitUntilFinished(timeout: 10))
        XCTAssertEqual(finished.reason, .completed)
        XCTAssertEqual(finished.steps, 20)
        // By hand: the same rule on the same gradients, so bit-identical (tolerance 0).
        var opt = Optimizer<Double>(config: config, parameterCount: 3)
        var p = Quadratic.p0
        var losses: [Double] = []
        for _ in 0..<20 {
            losses.append(Quadratic.loss(p))
            var g = Quadratic.gradient(p)
            _ = opt.step(params: &p, grad: &g)
        }
        XCTAssertEqual(run.parameters, p)
        let steps = try store.steps(runId: "q")
        XCTAssertEqual(steps.map(\.loss), losses)
        XCTAssertEqual(steps.map(\.step), Array(0..<20))
        XCTAssertEqual(steps.map(\.epoch), (0..<20).map { $0 / 4 })
        XCTAssertTrue(
            steps.allSatisfy { $0.rank == 0 && $0.lr == 0.1 && $0.fingerprint?.count == 16 && $0.labelHistogram != nil })
        XCTAssertEqual(steps[0].gradNorm ?? 0, 1.118033988749895, accuracy: 1e-14)
        let record = try XCTUnwrap(try store.run(id: "q"))
        XCTAssertEqual(record.state, .finished)
        XCTAssertEqual(record.finishReason, "completed")
        XCTAssertEqual(record.config, ["lr": 0.1])
        XCTAssertEqual(run.status.state, .finished)
        XCTAssertEqual(run.status.step, 20)
        let delivered = sink.take(timeout: 1).events
        XCTAssertEqual(delivered.count, 21)
        XCTAssertEqual(delivered.last, .finished(finished))
    }

    func testEpochLengthAndSeedDeterminism() throws {
        func losses(seed: UInt64) throws -> [Double] {
            let store = try RunStore(path: ":memory:")
            var config = OptimizerConfig(kind: .adam, lr: 0.05)
            config.noise = NoiseConfig(std: 0.1)
            let run = TrainingRun(
                id: "d", parameters: Quadratic.p0, gradient: Self.batchDependent(),
                pipeline: try makePipeline(seed: seed), optimizer: config, length: .epochs(3), seed: seed,
                store: store)
            try run.start()
            XCTAssertEqual(run.waitUntilFinished(timeout: 10)?.reason, .completed)
            return try store.steps(runId: "d").map(\.loss)
        }
        let a = try losses(seed: 42)
        XCTAssertEqual(a.count, 12, "3 epochs × 4 batches")
        XCTAssertEqual(try losses(seed: 42), a, "same seed, same run (bit for bit)")
        XCTAssertNotEqual(try losses(seed: 43), a)
    }

    func testPauseResumeAndStopArePrompt() throws {
        let store = try RunStore(path: ":memory:")
        let run = TrainingRun(
            id: "p", parameters: Quadratic.p0, gradient: Self.batchDependent(sleep: 0.002),
            pipeline: try makePipeline(), optimizer: OptimizerConfig(kind: .sgd, lr: 0.01),
            length: .steps(1_000_000), seed: 0, store: store)
        try run.start()
        waitFor("5 steps") { run.status.step >= 5 }
        run.pause()
        waitFor("pause") { run.status.state == .paused }
        let pausedAt = run.status.step
        Thread.sleep(forTimeInterval: 0.05)
        XCTAssertEqual(run.status.step, pausedAt, "no steps while paused")
        XCTAssertEqual(try store.run(id: "p")?.state, .paused)
        XCTAssertEqual(run.parameters.count, 3)
        XCTAssertNotEqual(run.parameters, Quadratic.p0, "parameters are published at a pause")
        run.resume()
        waitFor("progress after resume") { run.status.step >= pausedAt + 5 }
        XCTAssertEqual(run.status.state, .running)
        let stopAt = Date()
        run.stop()
        let finished = try XCTUnwrap(run.waitUntilFinished(timeout: 5))
        // A step takes ~2 ms; "within one step" with a wide margin for a loaded machine.
        XCTAssertLessThan(Date().timeIntervalSince(stopAt), 0.5)
        XCTAssertEqual(finished.reason, .stopped)
        XCTAssertEqual(try store.stepCount(runId: "p"), finished.steps, "every step taken is stored")
        XCTAssertEqual(try store.run(id: "p")?.finishReason, "stopped")
    }

    func testStopWhileWaitingForDataAndWhilePaused() throws {
        let run = TrainingRun(
            id: "w", parameters: Quadratic.p0, gradient: Quadratic.function(),
            pipeline: try makePipeline(faults: FaultInjection(delaySeconds: 30)),
            optimizer: OptimizerConfig(kind: .sgd), length: .steps(10), seed: 0)
        try run.start()
        Thread.sleep(forTimeInterval: 0.05)
        let start = Date()
        run.stop()
        XCTAssertEqual(run.waitUntilFinished(timeout: 5)?.reason, .stopped)
        XCTAssertLessThan(Date().timeIntervalSince(start), 2, "a 30 s stall must not delay the stop")

        let paused = TrainingRun(
            id: "w2", parameters: Quadratic.p0, gradient: Quadratic.function(), pipeline: try makePipeline(),
            optimizer: OptimizerConfig(kind: .sgd), length: .steps(1_000_000), seed: 0)
        paused.pause()  // before start: pauses before the first step
        try paused.start()
        waitFor("pause") { paused.status.state == .paused }
        XCTAssertEqual(paused.status.step, 0)
        paused.stop()
        XCTAssertEqual(paused.waitUntilFinished(timeout: 5), RunFinished(runId: "w2", reason: .stopped, steps: 0, lastLoss: nil))
    }

    func testNonFiniteLossEndsTheRunAsDiverged() throws {
        let store = try RunStore(path: ":memory:")
        let exploding: GradientFunction<Double> = { params, _, grad in
            for i in 0..<3 { grad[i] = 1 }
            return params[0] < 0.35 ? .nan : params[0]  // p₀ falls by lr = 0.1 per step: 1, 0.9, … NaN at step 7
        }
        let run = TrainingRun(
            id: "x", parameters: Quadratic.p0, gradient: exploding, pipeline: try makePipeline(),
            optimizer: OptimizerConfig(kind: .sgd, lr: 0.1), length: .steps(100), seed: 0, store: store)
        try run.start()
        let finished = try XCTUnwrap(run.waitUntilFinished(timeout: 5))
        XCTAssertEqual(finished.reason, .diverged(step: 7))
        XCTAssertEqual(finished.steps, 8)
        let steps = try store.steps(runId: "x")
        XCTAssertEqual(steps.count, 8)
        XCTAssertTrue(steps[7].loss.isNaN, "the NaN step is stored as evidence")
        XCTAssertEqual(run.parameters[0], 0.3, accuracy: 1e-12, "no update from the NaN step")
        XCTAssertEqual(try store.run(id: "x")?.finishMessage, "loss became non-finite at step 7")
    }

    func testDyingWorkerFailsTheRunWithItsReason() throws {
        let store = try RunStore(path: ":memory:")
        let sink = EventSink()
        let run = TrainingRun(
            id: "d", parameters: Quadratic.p0, gradient: Quadratic.function(),
            pipeline: try makePipeline(faults: FaultInjection(workerDiesAfter: 5)),
            optimizer: OptimizerConfig(kind: .sgd), length: .steps(100), seed: 0, store: store, sink: sink)
        try run.start()
        let finished = try XCTUnwrap(run.waitUntilFinished(timeout: 5))
        let message = "data loader worker died after 5 batch(es); no more batches will arrive"
        XCTAssertEqual(finished.reason, .failed(message))
        XCTAssertEqual(finished.steps, 5)
        XCTAssertEqual(try store.run(id: "d")?.finishMessage, message)
        XCTAssertEqual(finished.json["reason"], "failed")
        XCTAssertEqual(sink.take(timeout: 1).events.last, .finished(finished))
    }

    func testTrainingRunsOffTheCallersThreadAndMeasuresWaitAndComputeSeparately() throws {
        let caller = pthread_self()
        let seen = Guarded<[String]>([])
        let gradient: GradientFunction<Double> = { params, batch, grad in
            let me = pthread_self()
            seen.withLock { $0.append(pthread_equal(me, caller) != 0 ? "caller" : "\(me)") }
            Thread.sleep(forTimeInterval: 0.005)
            return try Quadratic.function()(params, batch, &grad)
        }
        let store = try RunStore(path: ":memory:")
        let run = TrainingRun(
            id: "t", parameters: Quadratic.p0, gradient: gradient,
            pipeline: try makePipeline(faults: FaultInjection(delaySeconds: 0.02), prefetch: 1),
            optimizer: OptimizerConfig(kind: .sgd), length: .steps(6), seed: 0, store: store)
        try run.start()
        XCTAssertEqual(run.waitUntilFinished(timeout: 10)?.reason, .completed)
        let threads = seen.withLock { $0 }
        XCTAssertEqual(threads.count, 6)
        XCTAssertFalse(threads.contains("caller"), "never the caller's thread")
        XCTAssertEqual(Set(threads).count, 1, "one run thread throughout")
        let steps = try store.steps(runId: "t")
        // Compute ≥ the 5 ms sleep in every step; the loader (20 ms per batch, prefetch 1) overlaps with
        // that compute, so each step still waits about 15 ms: assert ≥ 10 ms on average (half the
        // delay) and, for the sleep, ≥ 5 ms each (a sleep never ends early).
        XCTAssertTrue(steps.allSatisfy { ($0.computeSeconds ?? 0) >= 0.005 }, "\(steps.map(\.computeSeconds))")
        XCTAssertGreaterThanOrEqual(steps.compactMap(\.dataWaitSeconds).reduce(0, +) / 6, 0.01)
        for s in steps {
            let expected = 3 / ((s.dataWaitSeconds ?? 0) + (s.computeSeconds ?? 0))
            XCTAssertEqual(s.samplesPerSecond ?? 0, expected, accuracy: 1e-9 * expected)
        }
    }
}
