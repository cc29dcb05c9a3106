import Foundation
import SaddleModels
import Synchronization
import XCTest

@testable import SaddleTraining

/// ``TrainingRun/pause(atStep:)``: stop points set before the run starts, so every outcome is independent of speed.
final class TrainingRunPauseAtStepTests: XCTestCase {
    private let sgd = OptimizerConfig(kind: .sgd, lr: 0.1)

    private func makeRun(steps: Int) throws -> TrainingRun<Double> {
        let pipeline = try DataPipeline(
            source: labelledSource(samples: 12, classes: 3),
            config: PipelineConfig(batchSize: 3), seed: 1)
        return TrainingRun(
            id: "q", parameters: Quadratic.p0, gradient: Quadratic.function(), pipeline: pipeline,
            optimizer: sgd, length: .steps(steps), seed: 0)
    }

    /// SGD on the quadratic by hand for `steps` steps.
    private func byHand(_ steps: Int) -> [Double] {
        var opt = Optimizer<Double>(config: sgd, parameterCount: 3)
        var p = Quadratic.p0
        for _ in 0..<steps {
            var g = Quadratic.gradient(p)
            _ = opt.step(params: &p, grad: &g)
        }
        return p
    }

    private func wait(_ run: TrainingRun<Double>, atStep step: Int) -> PauseAtStepOutcome? {
        run.waitForPause(atStep: step, timeout: 10)
    }

    func testPausesAfterExactlyThatStepWithThoseParameters() throws {
        let run = try makeRun(steps: 20)
        try run.pause(atStep: 7)
        try run.start()
        XCTAssertEqual(wait(run, atStep: 7), .paused)
        XCTAssertEqual(run.status.state, .paused)
        XCTAssertEqual(run.status.step, 7)
        // The same rule on the same gradients, so bit-identical (tolerance 0).
        XCTAssertEqual(run.parameters, byHand(7))
        run.resume()
        XCTAssertEqual(run.waitUntilFinished(timeout: 10)?.steps, 20)
        XCTAssertEqual(run.parameters, byHand(20))
    }

    func testAStopPointAtTheLastStepPausesBeforeFinishing() throws {
        let run = try makeRun(steps: 5)
        try run.pause(atStep: 5)
        try run.start()
        XCTAssertEqual(wait(run, atStep: 5), .paused)
        XCTAssertNil(run.status.finish)
        XCTAssertEqual(run.parameters, byHand(5))
        run.resume()
        XCTAssertEqual(run.waitUntilFinished(timeout: 10)?.reason, .completed)
    }

    func testAPlainPauseMeanwhileLeavesTheStopPointPending() throws {
        let run = try makeRun(steps: 20)
        try run.pause(atStep: 9)
        run.pause()
        try run.start()
        XCTAssertNil(run.waitForPause(atStep: 9, timeout: 0.05), "paused at step 0 by the plain pause, not at 9")
        XCTAssertEqual(run.status.step, 0)
        run.resume()
        XCTAssertEqual(wait(run, atStep: 9), .paused)
        XCTAssertEqual(run.parameters, byHand(9))
        run.stop()
    }

    func testWithdrawingDropsAPendingStopPointOrUndoesItsPause() throws {
        let pending = try makeRun(steps: 20)
        try pending.pause(atStep: 4)
        XCTAssertTrue(pending.withdrawPause(atStep: 4))
        XCTAssertFalse(pending.withdrawPause(atStep: 4), "nothing left to withdraw")
        try pending.start()
        XCTAssertEqual(pending.waitUntilFinished(timeout: 10)?.steps, 20, "no pause at 4")

        // Reached and paused there (a cancel racing the answer): withdrawing resumes the run.
        let reached = try makeRun(steps: 20)
        try reached.pause(atStep: 4)
        try reached.start()
        XCTAssertEqual(wait(reached, atStep: 4), .paused)
        XCTAssertTrue(reached.withdrawPause(atStep: 4))
        XCTAssertEqual(reached.waitUntilFinished(timeout: 10)?.reason, .completed)

        // Paused there for a plain pause too: that pause stands.
        let shared = try makeRun(steps: 20)
        try shared.pause(atStep: 4)
        try shared.start()
        XCTAssertEqual(wait(shared, atStep: 4), .paused)
        shared.pause()
        XCTAssertFalse(shared.withdrawPause(atStep: 4))
        XCTAssertNil(shared.waitUntilFinished(timeout: 0.05))
        XCTAssertEqual(shared.status.state, .paused)
        shared.stop()
    }

    func testRefusalsAndARunThatEndsFirst() throws {
        let run = try makeRun(steps: 20)
        try run.pause(atStep: 3)
        try run.start()
        XCTAssertEqual(wait(run, atStep: 3), .paused)
        XCTAssertThrowsError(try run.pause(atStep: 3)) {
            XCTAssertEqual($0 as? RunControlError, .stepReached(current: 3, requested: 3))
        }
        XCTAssertThrowsError(try run.pause(atStep: 21)) {
            XCTAssertEqual($0 as? RunControlError, .beyondEnd(totalSteps: 20, requested: 21))
        }
        try run.pause(atStep: 15)
        XCTAssertThrowsError(try run.pause(atStep: 10)) { XCTAssertEqual($0 as? RunControlError, .pausePending(atStep: 15)) }
        run.stop()
        XCTAssertEqual(wait(run, atStep: 15), .finished(step: 3), "stopped while paused at 3, before 15")
        XCTAssertThrowsError(try run.pause(atStep: 18)) { XCTAssertEqual($0 as? RunControlError, .finished(step: 3)) }
    }

    func testARunThatDivergesAtTheStopPointEndsThere() throws {
        let calls = Mutex(0)
        // A finite loss for steps 0…3, NaN at step 4: the run ends diverged after 5 steps, the update of step 4 not applied.
        let gradient: GradientFunction<Double> = { params, batch, grad in
            let call = calls.withLock { c in
                defer { c += 1 }; return c
            }
            let loss = try Quadratic.function()(params, batch, &grad)
            return call == 4 ? .nan : loss
        }
        let pipeline = try DataPipeline(
            source: labelledSource(samples: 12, classes: 3),
            config: PipelineConfig(batchSize: 3), seed: 1)
        let run = TrainingRun(
            id: "d", parameters: Quadratic.p0, gradient: gradient, pipeline: pipeline, optimizer: sgd,
            length: .steps(20), seed: 0)
        try run.pause(atStep: 5)
        try run.start()
        XCTAssertEqual(wait(run, atStep: 5), .finished(step: 5))
        XCTAssertEqual(run.status.finish, .diverged(step: 4))
        XCTAssertEqual(run.parameters, byHand(4))
    }
}
