import Foundation
@testable import SaddleDiagnosis
import XCTest

/// Synthetic training histories, one per kind of stall; every series is deterministic.
final class HistoryTests: XCTestCase {
    /// `count` steps with loss(t), gradNorm(t) and a fixed learning rate.
    static func series(_ count: Int, lr: Double = 0.01, loss: (Int) -> Double, grad: (Int) -> Double) -> [StepRecord] {
        (0..<count).map { StepRecord(step: $0, loss: loss($0), gradNorm: grad($0), learningRate: lr) }
    }

    // MARK: HistoryAnalysis, hand-computed

    func testHistoryAnalysisFunctionsHandComputed() throws {
        // A line y = 2 − 0.01 t on t = 0…10: slope −0.01, span 10, mean 1.95 → −0.1/1.95 (1e-15: rounding).
        let steps = (0...10).map(Double.init)
        let change = try XCTUnwrap(HistoryAnalysis.relativeChange(steps: steps, values: steps.map { 2 - 0.01 * $0 }))
        XCTAssertEqual(change, -0.1 / 1.95, accuracy: 1e-15)
        XCTAssertNil(HistoryAnalysis.relativeChange(steps: [0, 1], values: [1, 2]), "fewer than 3 points")
        // Entropy: uniform 1, one label 0, (3/4, 1/4) → 0.8112781244591328 bits (1e-15: rounding).
        XCTAssertEqual(HistoryAnalysis.normalizedEntropy([4, 4, 4, 4]) ?? -1, 1, accuracy: 1e-15)
        XCTAssertEqual(HistoryAnalysis.normalizedEntropy([32, 0]), 0)
        XCTAssertEqual(HistoryAnalysis.normalizedEntropy([3, 1]) ?? -1, 0.8112781244591328, accuracy: 1e-15)
        XCTAssertNil(HistoryAnalysis.normalizedEntropy([5]))
        XCTAssertEqual(HistoryAnalysis.median([3, 1, 2]), 2)
        XCTAssertEqual(HistoryAnalysis.median([4, 1, 2, 3]), 2.5)
        XCTAssertEqual(HistoryAnalysis.thirdsRatio([1, 1, 5, 5, 3, 3]), 3)
        XCTAssertEqual(HistoryAnalysis.repeatedShare(["a", "a", "a", "b"]), 0.5)
        // Best loss 1.0 first reached (within 1 %) at step 4, last step 9 → 5 steps of plateau.
        let records = [3.0, 2, 1.5, 1.2, 1.005, 1.0, 1.003, 1.001, 1.0, 1.002].enumerated()
            .map { StepRecord(step: $0.offset, loss: $0.element) }
        XCTAssertEqual(HistoryAnalysis.plateauLength(records, tolerance: 0.01), 5)
        // Throughput 1000 for 40 steps then 300 for 20, window 20 → 300/1000 − 1 = −0.7 exactly.
        let throughput = (0..<60).map { StepRecord(step: $0, loss: 1, throughput: $0 < 40 ? 1000 : 300) }
        XCTAssertEqual(HistoryAnalysis.throughputChange(throughput, window: 20) ?? 0, -0.7, accuracy: 1e-15)
        let timed = (0..<5).map { StepRecord(step: $0, loss: 1, dataWait: 0.7, compute: 0.3) }
        XCTAssertEqual(HistoryAnalysis.dataWaitShare(timed) ?? 0, 0.7, accuracy: 1e-15)
    }

    // MARK: Verdicts

    func testFallingLossIsProgressing() {
        let history = Self.series(100, loss: { exp(-0.01 * Double($0)) }, grad: { exp(-0.005 * Double($0)) })
        let d = Diagnoser.diagnose(Evidence(history: history))
        XCTAssertEqual(d.verdict, .progressing, d.reason)
        XCTAssertEqual(d.recommendations, [])
        // Loss falls by ≈ 1 − e^{−0.49} ≈ 39 % over the 50-step window, far past −1 %.
        XCTAssertGreaterThan(d.confidence, 0.9)
    }

    func testExponentialLossGrowthIsDiverging() {
        let history = Self.series(60, loss: { exp(0.05 * Double($0)) }, grad: { exp(0.05 * Double($0)) })
        let d = Diagnoser.diagnose(Evidence(history: history))
        XCTAssertEqual(d.verdict, .diverging, d.reason)
        XCTAssertEqual(d.evidence.first { $0.decisive }?.name, "lossGrowth")
        XCTAssertEqual(d.recommendations.map(\.id), ["smallerLearningRate"])
    }

    func testNonFiniteLossIsDivergingAndTravelsAsString() throws {
        var history = Self.series(30, loss: { 1 / Double($0 + 1) }, grad: { _ in 1 })
        history[29].loss = .nan
        let d = Diagnoser.diagnose(Evidence(history: history))
        XCTAssertEqual(d.verdict, .diverging)
        XCTAssertEqual(d.confidence, 1, "non-finite is full strength and nothing is missing")
        XCTAssertEqual(d.recommendations.first?.id, "findNonFinite")
        let item = try XCTUnwrap(d.evidence.first { $0.name == "nonFinite" })
        XCTAssertTrue(item.value.isNaN)
        XCTAssertEqual(item.json["value"], .string("NaN"))
        XCTAssertTrue(try d.json.serializedString().contains("\"value\":\"NaN\""))
    }

    /// Edge of stability (Cohen et al. 2021): loss oscillating step to step while falling slowly on
    /// average, gradient norm growing e^4.5 ≈ 90× (thirds-median ratio ≈ 20), lr·λ_max = 2.05. Not divergence. The same history with
    /// lr·λ_max = 1.0 or 3.0 (no edge of stability) is diverging by gradient-norm growth.
    func testEdgeOfStabilityIsNotDivergence() throws {
        let history = Self.series(
            50, lr: 0.01, loss: { 1 - 0.00015 * Double($0) + 0.01 * ($0 % 2 == 0 ? 1 : -1) },
            grad: { exp(4.5 * Double($0) / 49) })
        let summary = HistoryAnalysis.summarize(history, thresholds: Thresholds())
        let change = try XCTUnwrap(summary.lossRelativeChange)
        XCTAssertTrue(change < 0 && change > -0.01, "falls on average, yet flat by the 1 % rule: \(change)")
        XCTAssertGreaterThan(summary.gradNormGrowth ?? 0, 10)

        let eos = Diagnoser.diagnose(Evidence(lambdaMax: 205, history: history))
        XCTAssertEqual(eos.verdict, .progressing, eos.reason)
        let item = try XCTUnwrap(eos.evidence.first { $0.name == "edgeOfStability" })
        XCTAssertEqual(item.value, 2.05, accuracy: 1e-12)
        XCTAssertTrue(item.decisive)
        XCTAssertEqual(eos.evidence.first { $0.name == "gradNormGrowth" }?.pointsTo, "against")

        for lambdaMax in [100.0, 300.0] {
            let d = Diagnoser.diagnose(Evidence(lambdaMax: lambdaMax, history: history))
            XCTAssertEqual(d.verdict, .diverging, "lr·λ_max = \(0.01 * lambdaMax)")
            XCTAssertNil(d.evidence.first { $0.name == "edgeOfStability" })
        }
    }

    func testFlatLossWithTinyGradientIsPlateau() {
        let history = Self.series(
            100, loss: { $0 < 10 ? 2 - 0.13 * Double($0) : 0.7 + 1e-4 * sin(Double($0)) },
            grad: { $0 < 10 ? 1 : 1e-4 })
        let d = Diagnoser.diagnose(Evidence(history: history))
        XCTAssertEqual(d.verdict, .plateau, d.reason)
        XCTAssertEqual(d.missing, ["lambdaMin", "lambdaMax", "escapeProbe", "perturbationProbe"])
        let gradient = d.evidence.first { $0.name == "gradNorm" }
        XCTAssertEqual(gradient?.threshold, 0.01, "0.01 × early scale 1 beats 1e-6 × max(1, 0.7)")

        // Dead ReLUs sharpen it and bring the normalization remedy.
        let dead = Diagnoser.diagnose(Evidence(history: history, deadFraction: 0.8))
        XCTAssertEqual(dead.verdict, .plateau)
        XCTAssertEqual(dead.recommendations.first?.id, "normalizationOrActivation")
    }

    func testDataWaitShareIsPipelineStallWithoutCurvature() throws {
        var history = Self.series(40, loss: { exp(-0.01 * Double($0)) }, grad: { _ in 1 })
        for i in history.indices {
            history[i].dataWait = 0.7
            history[i].compute = 0.3
        }
        let d = Diagnoser.diagnose(Evidence(history: history))
        XCTAssertEqual(d.verdict, .dataPipelineStall, d.reason)
        let item = try XCTUnwrap(d.evidence.first { $0.name == "dataWaitShare" })
        XCTAssertEqual(item.value, 0.7, accuracy: 1e-12)
        XCTAssertTrue(item.decisive)
        XCTAssertEqual(d.recommendations.map(\.id), ["dataLoader"])
        // Strength: (0.7 − 0.5)/0.5 = 0.4 → confidence 0.5 + 0.5·0.4 = 0.7.
        XCTAssertEqual(d.confidence, 0.7, accuracy: 1e-12)
    }

    func testThroughputDropIsPipelineStall() {
        var history = Self.series(60, loss: { exp(-0.01 * Double($0)) }, grad: { _ in 1 })
        for i in history.indices { history[i].throughput = i < 40 ? 1000 : 300 }
        let d = Diagnoser.diagnose(Evidence(history: history))
        XCTAssertEqual(d.verdict, .dataPipelineStall)
        XCTAssertEqual(d.evidence.first { $0.name == "throughputDrop" }?.value ?? 0, 0.7, accuracy: 1e-12)
    }

    /// A slowdown while the steps hardly wait for data is compute's (another process, timer noise of a tiny
    /// model), not the pipeline's; the same drop with real waits is a stall.
    func testThroughputDropWithoutDataWaitIsNoPipelineStall() {
        var history = Self.series(60, loss: { exp(-0.01 * Double($0)) }, grad: { _ in 1 })
        for i in history.indices {
            history[i].throughput = i < 40 ? 1000 : 300
            history[i].dataWait = 0.00005
            history[i].compute = i < 40 ? 0.001 : 0.003
        }
        XCTAssertNotEqual(Diagnoser.diagnose(Evidence(history: history)).verdict, .dataPipelineStall)
        for i in history.indices where i >= 40 { history[i].dataWait = 0.01 }
        XCTAssertEqual(Diagnoser.diagnose(Evidence(history: history)).verdict, .dataPipelineStall)
    }

    /// Slow data cannot explain a flat loss when the gradient vanishes and the curvature is measured: the
    /// landscape decides, and the waits stay in the evidence. Without curvature, the waits decide.
    func testSmallGradientWithMeasuredCurvatureOutranksDataWaits() {
        var history = Self.series(60, loss: { _ in 0.8 }, grad: { _ in 1e-9 })
        for i in history.indices {
            history[i].dataWait = 0.01
            history[i].compute = 0.001
        }
        var evidence = Evidence(history: history)
        XCTAssertEqual(Diagnoser.diagnose(evidence).verdict, .dataPipelineStall, "no curvature: the waits decide")
        evidence.lambdaMin = -0.5
        evidence.lambdaMax = 2
        let d = Diagnoser.diagnose(evidence)
        XCTAssertEqual(d.verdict, .saddle)
        let waits = d.evidence.first { $0.name == "dataWaitShare" }
        XCTAssertEqual(waits?.holds, true, "the waits are reported")
        XCTAssertEqual(waits?.decisive, false, "but they do not decide")
    }

    func testRepeatedBatchesArePipelineStall() {
        var history = Self.series(40, loss: { exp(-0.01 * Double($0)) }, grad: { _ in 1 })
        for i in history.indices { history[i].fingerprint = i < 20 ? "batch-\(i)" : "batch-7" }
        let d = Diagnoser.diagnose(Evidence(history: history))
        XCTAssertEqual(d.verdict, .dataPipelineStall)
        // The last 20 fingerprints are all "batch-7": 1 − 1/20 = 0.95.
        XCTAssertEqual(d.evidence.first { $0.name == "repeatedBatchShare" }?.value ?? 0, 0.95, accuracy: 1e-12)
        XCTAssertEqual(d.recommendations.map(\.id), ["shuffleAndSampler"])
    }

    func testOneLabelBatchesArePipelineStall() {
        var history = Self.series(40, loss: { 0.69 + 1e-3 * sin(Double($0)) }, grad: { _ in 0.5 })
        for i in history.indices { history[i].labelHistogram = i < 20 ? [16, 16] : (i % 2 == 0 ? [32, 0] : [0, 32]) }
        let d = Diagnoser.diagnose(Evidence(history: history))
        XCTAssertEqual(d.verdict, .dataPipelineStall)
        XCTAssertEqual(d.evidence.first { $0.name == "labelEntropy" }?.value, 0)
        // The balanced half alone is healthy: entropy 1.
        let healthy = Diagnoser.diagnose(Evidence(history: Array(history.prefix(20))))
        XCTAssertEqual(healthy.evidence.first { $0.name == "labelEntropy" }?.value, 1)
        XCTAssertNotEqual(healthy.verdict, .dataPipelineStall)
    }

    func testLargeGradientFlatLossIsNoisyOrIllConditioned() {
        let history = Self.series(60, loss: { 0.9 + 2e-3 * sin(1.7 * Double($0)) }, grad: { _ in 1 })
        let noisy = Diagnoser.diagnose(Evidence(history: history, gradientCosine: 0.02))
        XCTAssertEqual(noisy.verdict, .noisyOrIllConditioned, noisy.reason)
        XCTAssertEqual(noisy.recommendations.first?.id, "largerBatch")

        let sharp = Diagnoser.diagnose(Evidence(lambdaMax: 300, history: history))
        XCTAssertEqual(sharp.verdict, .noisyOrIllConditioned)
        XCTAssertEqual(sharp.evidence.first { $0.name == "stepSharpness" }?.value ?? 0, 3, accuracy: 1e-12)
        XCTAssertEqual(sharp.recommendations.first?.id, "smallerLearningRate")

        // Nothing measured: still noisy, with what would sharpen it named.
        let bare = Diagnoser.diagnose(Evidence(history: history))
        XCTAssertEqual(bare.verdict, .noisyOrIllConditioned)
        XCTAssertEqual(bare.missing, ["gradientCosine", "noiseScale", "lambdaMax"])

        // Consistent gradients and a stable step, yet no progress: a plateau, not noise.
        let calm = Diagnoser.diagnose(Evidence(lambdaMax: 50, history: history, gradientCosine: 0.9))
        XCTAssertEqual(calm.verdict, .plateau, calm.reason)
    }

    func testSinglePointWithLargeGradientIsProgressing() {
        let d = Diagnoser.diagnose(Evidence(gradNorm: 0.3, loss: 1.2))
        XCTAssertEqual(d.verdict, .progressing)
        XCTAssertEqual(d.missing, ["history"])
    }
}
