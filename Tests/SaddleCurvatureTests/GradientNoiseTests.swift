import XCTest

@testable import SaddleCurvature

final class GradientNoiseTests: XCTestCase {
    /// Hand-computed: g₁ = (1, 2), g₂ = (3, 0), g₃ = (2, 4), b = 4. G = (2, 2), ‖G‖² = 8;
    /// deviations (−1, 0), (1, −2), (0, 2) have squared norms 1, 5, 4, so S = 10/2 = 5, tr(Σ) = 4·5 = 20,
    /// B_simple = 20/8 = 2.5, SNR = 8/5 = 1.6, ‖G‖² − S/B = 8 − 5/3; cosines 1/√5, 1, 1/√5.
    /// Tolerance 1e-14: a handful of rounded operations on small integers.
    func testHandComputedValues() throws {
        let s = try GradientNoise.statistics(batchGradients: [[1, 2], [3, 0], [2, 4]], batchSize: 4)
        XCTAssertEqual(s.batches, 3)
        XCTAssertEqual(s.batchSize, 4)
        XCTAssertEqual(s.dimension, 2)
        XCTAssertEqual(s.meanGradient, [2, 2])
        XCTAssertEqual(s.meanGradientNorm, 8.0.squareRoot(), accuracy: 1e-14)
        XCTAssertEqual(s.batchGradientVariance, 5, accuracy: 1e-14)
        XCTAssertEqual(s.covarianceTrace, 20, accuracy: 1e-13)
        XCTAssertEqual(s.simpleNoiseScale, 2.5, accuracy: 1e-14)
        XCTAssertEqual(s.signalToNoiseRatio, 1.6, accuracy: 1e-14)
        XCTAssertEqual(s.unbiasedGradientNormSquared, 8 - 5.0 / 3, accuracy: 1e-14)
        XCTAssertEqual(s.meanPairwiseCosine, (2 / 5.0.squareRoot() + 1) / 3, accuracy: 1e-14)
        XCTAssertEqual(s.cosinePairs, 3)
    }

    func testZeroGradientsAreLeftOutOfTheCosineAndZeroMeanGivesInfiniteNoiseScale() throws {
        let s = try GradientNoise.statistics(batchGradients: [[0, 0], [1, 0], [2, 0]], batchSize: 1)
        XCTAssertEqual(s.cosinePairs, 1)
        XCTAssertEqual(s.meanPairwiseCosine, 1, accuracy: 1e-15)
        let opposite = try GradientNoise.statistics(batchGradients: [[1, -1], [-1, 1]], batchSize: 2)
        XCTAssertEqual(opposite.meanGradientNorm, 0)
        XCTAssertEqual(opposite.simpleNoiseScale, .infinity)
        XCTAssertEqual(opposite.meanPairwiseCosine, -1, accuracy: 1e-15)
        XCTAssertEqual(opposite.covarianceTrace, 2 * 4, accuracy: 1e-14)  // S = (2 + 2)/1
    }

    func testBadInputGetsClearErrors() {
        XCTAssertThrowsError(try GradientNoise.statistics(batchGradients: [[1, 2]], batchSize: 2)) {
            XCTAssertTrue("\($0)".contains("at least 2"))
        }
        XCTAssertThrowsError(try GradientNoise.statistics(batchGradients: [[1, 2], [1]], batchSize: 2)) {
            XCTAssertTrue("\($0)".contains("batch gradient 1 has 1 entries"))
        }
        XCTAssertThrowsError(try GradientNoise.statistics(batchGradients: [[1, .nan], [1, 2]], batchSize: 2)) {
            XCTAssertTrue("\($0)".contains("nan"))
        }
        XCTAssertThrowsError(try GradientNoise.statistics(batchGradients: [[1], [2]], batchSize: 0))
    }
}
