import SaddleMath
import XCTest

@testable import SaddleCurvature

final class SpectralDensityTests: XCTestCase {
    /// 150 eigenvalues: 45 negative in [−3, −0.5], 105 positive in [0.5, 10]; nothing within 0.5 of 0.
    private func gappedSpectrum() -> [Double] {
        let negative: [Double] = (0..<45).map { -3 + 2.5 * Double($0) / 44 }
        let positive: [Double] = (0..<105).map { 0.5 + 9.5 * Double($0) / 104 }
        return negative + positive
    }

    /// The density integrates to 1 within 1e-3 (the grid spans ±6σ beyond the nodes, so the tails
    /// hold < 1e-8, and 1000 points put ~9 points per σ); the weights sum to 1.
    /// Negative mass against the true fraction 45/150 = 0.3. Tolerance: each unit Gaussian probe's
    /// weight on the negative eigenvectors has standard deviation √(2f(1 − f)/n) ≈ 0.053, over 20
    /// probes ≈ 0.012, so 4 of those (0.047); broadening adds at most Φ(−0.5/σ) per unit mass near 0,
    /// with σ = 0.01 × range ≈ 0.13 that is < 1e-4. Total 0.05.
    func testDensityIntegratesToOneAndNegativeMassMatchesTheFraction() throws {
        let spectrum = gappedSpectrum()
        let op = try DenseOperator(matrix: try TestMatrices.withSpectrum(spectrum, seed: 31), dimension: spectrum.count)
        for probe in [SpectralDensity.Probe.gaussian, .rademacher] {
            let r = try SpectralDensity.estimate(op, options: .init(probes: 20, steps: 60, probe: probe, seed: 5))
            XCTAssertEqual(r.integral, 1, accuracy: 1e-3)
            XCTAssertEqual(r.weights.reduce(0, +), 1, accuracy: 1e-12)
            XCTAssertEqual(r.nodes.count, r.weights.count)
            XCTAssertEqual(r.nodesPerProbe, [Int](repeating: 60, count: 20))
            XCTAssertEqual(r.products, 20 * 60)
            XCTAssertEqual(r.grid.count, 1000)
            XCTAssertEqual(r.density.count, 1000)
            XCTAssertEqual(r.negativeMassFromWeights, 0.3, accuracy: 0.05, "\(probe)")
            XCTAssertEqual(r.negativeMassFromDensity, 0.3, accuracy: 0.05, "\(probe)")
            XCTAssertEqual(
                r.negativeMassFromDensity, r.negativeMassFromWeights, accuracy: 1e-3,
                "they differ only by broadening across 0, and the nodes keep away from 0")
            // The extreme nodes are the extreme eigenvalues (Lanczos converges there first).
            XCTAssertEqual(r.nodes.max() ?? 0, 10, accuracy: 1e-6)
            XCTAssertEqual(r.nodes.min() ?? 0, -3, accuracy: 1e-6)
            XCTAssertEqual(r.sigma, 0.01 * 13, accuracy: 1e-6)
        }
    }

    /// With as many steps as the dimension every probe's quadrature is exact: the moments Σ τ θᵏ
    /// equal vᵀAᵏv, and averaged over probes the first moment approaches tr(A)/n.
    func testFullLengthQuadratureReproducesTheFirstTwoMoments() throws {
        let n = 40
        let matrix = TestMatrices.randomSymmetric(n, seed: 8)
        let op = try DenseOperator(matrix: matrix, dimension: n)
        let r = try SpectralDensity.estimate(op, options: .init(probes: 1, steps: n, seed: 3))
        // Recreate the probe to compute vᵀAv and vᵀA²v directly.
        var rng = SeededRandom(seed: 3)
        let v = Vec.randomUnit(dimension: n, rng: &rng)
        let av = try op.apply(v)
        let m1 = Vector.dot(v, av), m2 = Vector.dot(av, av)
        let q1 = zip(r.nodes, r.weights).reduce(0) { $0 + $1.1 * $1.0 }
        let q2 = zip(r.nodes, r.weights).reduce(0) { $0 + $1.1 * $1.0 * $1.0 }
        XCTAssertEqual(q1, m1, accuracy: 1e-10 * m2.squareRoot())
        XCTAssertEqual(q2, m2, accuracy: 1e-10 * m2)
    }

    func testZeroOperatorIsAPointMassAtZero() throws {
        let op = try DenseOperator(matrix: [Double](repeating: 0, count: 36), dimension: 6)
        let r = try SpectralDensity.estimate(op, options: .init(probes: 3, steps: 10))
        XCTAssertEqual(r.nodes, [0, 0, 0])
        XCTAssertEqual(r.products, 3)
        XCTAssertEqual(r.negativeMassFromWeights, 0)
        XCTAssertEqual(r.negativeMassFromDensity, 0.5, accuracy: 1e-12, "half of a Gaussian centred at 0")
        XCTAssertEqual(r.integral, 1, accuracy: 1e-3)
        XCTAssertTrue(r.notes.contains { $0.contains("clamped") })
    }
}
