@testable import SaddleDiagnosis
import XCTest

/// f = x² − y⁴ (a higher-order saddle) vs f = x² + y⁴ (a minimum) at the origin: both have gradient 0
/// and Hessian diag(2, 0), positive semidefinite, so the second-order test cannot tell them apart; the
/// probes must.
final class ProbeTests: XCTestCase {
    static func quarticSaddle(_ p: [Double]) -> Double { p[0] * p[0] - p[1] * p[1] * p[1] * p[1] }
    static func quarticSaddleGradient(_ p: [Double]) -> [Double] { [2 * p[0], -4 * p[1] * p[1] * p[1]] }
    static func quarticMinimum(_ p: [Double]) -> Double { p[0] * p[0] + p[1] * p[1] * p[1] * p[1] }
    static func quarticMinimumGradient(_ p: [Double]) -> [Double] { [2 * p[0], 4 * p[1] * p[1] * p[1]] }

    /// Along the zero-curvature eigenvector e_y, f(0, ±t) = −t⁴ for the saddle: exact in float64 for
    /// these dyadic steps, so the tolerance is 0.
    func testEscapeProbeAlongZeroEigenvectorHandComputed() throws {
        let steps = [0.25, 0.5, 1.0]
        let saddle = try EscapeProbe.run(loss: Self.quarticSaddle, theta: [0, 0], direction: [0, 3], stepSizes: steps)
        XCTAssertEqual(saddle.baseLoss, 0)
        XCTAssertEqual(saddle.lossPlus, [-0.00390625, -0.0625, -1])
        XCTAssertEqual(saddle.lossMinus, [-0.00390625, -0.0625, -1])
        XCTAssertEqual(saddle.bestDecrease, 1)
        XCTAssertEqual(saddle.bestStep, 1, "ties keep + before −")

        let minimum = try EscapeProbe.run(loss: Self.quarticMinimum, theta: [0, 0], direction: [0, 1], stepSizes: steps)
        XCTAssertEqual(minimum.bestDecrease, -0.00390625, "the smallest step rises least: −t⁴ for t = 0.25")
        XCTAssertEqual(minimum.bestStep, 0.25)
    }

    func testEscapeProbeSkipsNonFiniteLossesAndRejectsBadInput() throws {
        let result = try EscapeProbe.run(
            loss: { p in p[0] > 0.5 ? .nan : -p[0] }, theta: [0], direction: [1],
            stepSizes: [0.25, 1])
        XCTAssertTrue(result.lossPlus[1].isNaN)
        XCTAssertEqual(result.bestDecrease, 0.25, "NaN at +1 never counts as a decrease")
        XCTAssertEqual(result.bestStep, 0.25)
        XCTAssertThrowsError(
            try EscapeProbe.run(
                loss: Self.quarticSaddle, theta: [0, 0], direction: [0, 0],
                stepSizes: [1])
        ) { XCTAssertEqual($0 as? ProbeError, .degenerateDirection) }
        XCTAssertThrowsError(
            try EscapeProbe.run(
                loss: Self.quarticSaddle, theta: [0, 0], direction: [1],
                stepSizes: [1]))
        XCTAssertThrowsError(
            try EscapeProbe.run(
                loss: Self.quarticSaddle, theta: [0, 0], direction: [1, 0],
                stepSizes: [-1]))
    }

    /// Perturbed gradient descent: from the saddle every perturbation with y ≠ 0 ends below f(0) = 0
    /// once x has decayed (unless |y| is tiny); from the minimum f ≥ 0 = f(0) everywhere, so no decrease is possible.
    func testPerturbationProbeSeparatesQuarticSaddleFromMinimum() throws {
        let saddle = try PerturbationProbe.run(
            loss: Self.quarticSaddle, gradient: Self.quarticSaddleGradient,
            theta: [0, 0], radius: 0.1, steps: 20, learningRate: 0.1, probes: 8,
            seed: 7)
        let minimum = try PerturbationProbe.run(
            loss: Self.quarticMinimum, gradient: Self.quarticMinimumGradient,
            theta: [0, 0], radius: 0.1, steps: 20, learningRate: 0.1, probes: 8,
            seed: 7)
        // After 20 steps x has shrunk by 0.8²⁰ ≈ 0.0115 while y grows slowly (y ← y + 0.4y³, from |y| ≤ 0.1
        // to at most ≈ 0.108), so f ≈ −y⁴: the best decrease lies in (1e-8, 0.108⁴ ≈ 1.4e-4).
        XCTAssertGreaterThan(saddle.bestDecrease, 1e-8)
        XCTAssertLessThan(saddle.bestDecrease, 1.4e-4)
        XCTAssertGreaterThanOrEqual(saddle.descendingProbes, 4, "draws with |y| not tiny end below f(0)")
        XCTAssertLessThanOrEqual(minimum.bestDecrease, 0, "f ≥ f(0) everywhere: exact, no tolerance")
        XCTAssertEqual(minimum.descendingProbes, 0)

        // Pure given the seed: the same seed gives bit-identical results, another seed different ones.
        let again = try PerturbationProbe.run(
            loss: Self.quarticSaddle, gradient: Self.quarticSaddleGradient,
            theta: [0, 0], radius: 0.1, steps: 20, learningRate: 0.1, probes: 8,
            seed: 7)
        XCTAssertEqual(again, saddle)
        let other = try PerturbationProbe.run(
            loss: Self.quarticSaddle, gradient: Self.quarticSaddleGradient,
            theta: [0, 0], radius: 0.1, steps: 20, learningRate: 0.1, probes: 8,
            seed: 8)
        XCTAssertNotEqual(other.decreases, saddle.decreases)
    }

    private func runMinimumProbe(
        radius: Double = 0.1, steps: Int = 1, lr: Double = 0.1, probes: Int = 1,
        gradient: ([Double]) -> [Double] = ProbeTests.quarticMinimumGradient
    ) throws {
        _ = try PerturbationProbe.run(
            loss: Self.quarticMinimum, gradient: gradient, theta: [0, 0], radius: radius,
            steps: steps, learningRate: lr, probes: probes, seed: 1)
    }

    func testPerturbationProbeRejectsBadSettings() {
        XCTAssertThrowsError(try runMinimumProbe(radius: 0))
        XCTAssertThrowsError(try runMinimumProbe(radius: .nan))
        XCTAssertThrowsError(try runMinimumProbe(steps: -1))
        XCTAssertThrowsError(try runMinimumProbe(lr: -1))
        XCTAssertThrowsError(try runMinimumProbe(probes: 0))
        XCTAssertThrowsError(try runMinimumProbe(gradient: { _ in [0] })) {
            XCTAssertEqual($0 as? ProbeError, .dimensionMismatch(expected: 2, got: 1, what: "gradient"))
        }
    }

    /// The whole chain: probes → Evidence → verdict. Gradient 0 and Hessian diag(2, 0) (λ_min = 0 ≥ −tol,
    /// λ_max = 2) in both; only the probes differ, and they decide saddle vs localMinimum.
    func testQuarticSaddleVsMinimumVerdicts() throws {
        func evidence(_ loss: @escaping ([Double]) -> Double, _ gradient: @escaping ([Double]) -> [Double]) throws
            -> Evidence
        {
            let escape = try EscapeProbe.run(loss: loss, theta: [0, 0], direction: [0, 1], stepSizes: [0.1, 0.3, 1])
            let perturbation = try PerturbationProbe.run(
                loss: loss, gradient: gradient, theta: [0, 0], radius: 0.1,
                steps: 20, learningRate: 0.1, probes: 8, seed: 3)
            let g = gradient([0, 0])
            return Evidence(
                gradNorm: (g[0] * g[0] + g[1] * g[1]).squareRoot(), loss: loss([0, 0]), lambdaMax: 2,
                lambdaMin: 0, eigenvalueCounts: EigenvalueCounts(negative: 0, zero: 1, positive: 1),
                escapeProbe: escape, perturbationProbe: perturbation, parameterCount: 2)
        }
        let saddle = Diagnoser.diagnose(try evidence(Self.quarticSaddle, Self.quarticSaddleGradient))
        XCTAssertEqual(saddle.verdict, .saddle)
        XCTAssertEqual(saddle.evidence.first { $0.name == "escapeProbe" }?.pointsTo, "saddle")
        XCTAssertTrue(saddle.recommendations.contains { $0.id == "negativeCurvatureStep" })

        let minimum = Diagnoser.diagnose(try evidence(Self.quarticMinimum, Self.quarticMinimumGradient))
        XCTAssertEqual(minimum.verdict, .localMinimum)
        XCTAssertEqual(minimum.missing, [])
        XCTAssertEqual(minimum.evidence.first { $0.name == "zeroEigenvalueShare" }?.value, 0.5)
        XCTAssertEqual(minimum.evidence.first { $0.name == "escapeProbe" }?.pointsTo, "localMinimum")
        XCTAssertGreaterThan(minimum.confidence, 0.9, "every decisive item lies far past its threshold")

        // Without probes the same second-order evidence is a minimum with the probes listed as missing.
        var bare = try evidence(Self.quarticSaddle, Self.quarticSaddleGradient)
        bare.escapeProbe = nil
        bare.perturbationProbe = nil
        let unsure = Diagnoser.diagnose(bare)
        XCTAssertEqual(unsure.verdict, .localMinimum)
        XCTAssertEqual(unsure.missing, ["escapeProbe", "perturbationProbe"])
        XCTAssertLessThan(unsure.confidence, minimum.confidence)
    }
}
