import SaddleModels
import XCTest

@testable import SaddleTraining

/// The gradient buffer a run hands its gradient function: zero-filled by default, left as the optimizer
/// left it with `zeroGradients: false`. Exact comparisons: the same arithmetic in the same order.
final class TrainingRunGradientBufferTests: XCTestCase {
    private func pipeline() throws -> DataPipeline<Double> {
        try DataPipeline(source: labelledSource(samples: 12, classes: 3), config: PipelineConfig(batchSize: 3), seed: 1)
    }

    /// Runs 12 steps of momentum SGD with weight decay (which adds to the gradient in place), recording what
    /// `grad` held on entry to each call.
    private func run(zeroGradients: Bool) throws -> (params: [Double], entries: [[Double]]) {
        let seen = Guarded<[[Double]]>([])
        let gradient: GradientFunction<Double> = { params, batch, grad in
            let entry = grad
            seen.withLock { $0.append(entry) }
            return try Quadratic.function()(params, batch, &grad)
        }
        var optimizer = OptimizerConfig(kind: .sgd, lr: 0.1)
        optimizer.momentum = 0.9
        optimizer.weightDecay = 0.01
        let run = TrainingRun(
            id: "g", parameters: Quadratic.p0, gradient: gradient, pipeline: try pipeline(),
            optimizer: optimizer,
            length: .steps(12), seed: 0, zeroGradients: zeroGradients)
        try run.start()
        XCTAssertEqual(run.waitUntilFinished(timeout: 10)?.reason, .completed)
        return (run.parameters, seen.withLock { $0 })
    }

    func testZeroFilledByDefaultAndLeftoverOtherwiseWithTheSameResult() throws {
        let zeroed = try run(zeroGradients: true)
        let kept = try run(zeroGradients: false)
        XCTAssertEqual(zeroed.entries.count, 12)
        XCTAssertTrue(zeroed.entries.allSatisfy { $0 == [0, 0, 0] }, "every call sees a zero-filled buffer")
        XCTAssertEqual(kept.entries[0], [0, 0, 0], "the first call sees the fresh buffer")
        XCTAssertTrue(kept.entries.dropFirst().allSatisfy { $0 != [0, 0, 0] }, "later calls see the last step's gradient")
        // A function that overwrites every entry gives bit-identical parameters either way (tolerance 0).
        XCTAssertEqual(kept.params, zeroed.params)
    }
}
