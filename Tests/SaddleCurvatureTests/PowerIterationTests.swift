import SaddleMath
import XCTest

@testable import SaddleCurvature

final class PowerIterationTests: XCTestCase {
    /// A Hessian-like spectrum: four positive outliers and one negative, over a bulk of 195 small
    /// eigenvalues around 0 (as in Ghorbani et al. 2019 and Sagun et al. 2017).
    private func hessianLike() throws -> (DenseOperator, [Double]) {
        var rng = SeededRandom(seed: 77)
        var spectrum = (0..<195).map { _ in 0.05 * rng.gaussian() }
        spectrum += [10, 9, 8.5, 8, -1.5]
        return (try DenseOperator(matrix: try TestMatrices.withSpectrum(spectrum, seed: 78), dimension: 200), spectrum.sorted())
    }

    /// Products each method needs before its estimate of λ_max is within 1e-3 relative, read from the
    /// convergence histories (one entry per product). Asserted on counts, not time.
    func testLanczosNeedsAtMostAThirdOfThePowerIterationProducts() throws {
        let (op, spectrum) = try hessianLike()
        let top = spectrum[spectrum.count - 1]
        let lanczos = try Lanczos.eigen(op, options: .init(largest: 1, smallest: 1, tolerance: 0, maxIterations: 60))
        let power = try PowerIteration.eigen(op, options: .init(count: 1, tolerance: 0, maxIterations: 400, findSmallest: false))
        func firstWithin(_ history: [Double]) -> Int? {
            history.firstIndex { abs($0 - top) <= 1e-3 * abs(top) }.map { $0 + 1 }
        }
        let lanczosProducts = try XCTUnwrap(firstWithin(lanczos.largestHistory))
        let powerProducts = try XCTUnwrap(firstWithin(power.history))
        print("products to reach 1e-3 on λ_max: Lanczos \(lanczosProducts), power iteration \(powerProducts)")
        XCTAssertLessThanOrEqual(3 * lanczosProducts, powerProducts)
        // The smallest eigenvalue comes out of the same Lanczos run.
        XCTAssertEqual(lanczos.smallest[0], -1.5, accuracy: 1e-6 * 10)
    }

    /// PyHessian's method with its own stopping rule: top-3 by deflation and λ_min by the shifted run,
    /// against the known spectrum. Tolerance: the relative-change test at 1e-6 leaves errors of order
    /// 1e-6 × (λ₂/λ₁)-dependent factors, so 1e-3 relative is asserted.
    func testDeflationAndShiftFindTopThreeAndSmallest() throws {
        let (op, spectrum) = try hessianLike()
        let r = try PowerIteration.eigen(op, options: .init(count: 3, tolerance: 1e-7, maxIterations: 2000))
        XCTAssertEqual(r.dominant.count, 3)
        for (got, want) in zip(r.dominant, [10.0, 9, 8.5]) { XCTAssertEqual(got, want, accuracy: 1e-3 * want) }
        XCTAssertEqual(try XCTUnwrap(r.largest), 10, accuracy: 1e-2)
        XCTAssertEqual(try XCTUnwrap(r.smallest), spectrum[0], accuracy: 1e-2)
        XCTAssertGreaterThan(r.products, r.dominantIterations.reduce(0, +), "the shifted run's products are counted")
        XCTAssertEqual(r.dominantConverged, [true, true, true])
    }

    func testCountingOperatorAgreesWithReportedProducts() throws {
        let (op, _) = try hessianLike()
        let counter = CountingOperator(op)
        let r = try PowerIteration.eigen(counter, options: .init(count: 2))
        XCTAssertEqual(counter.count, r.products)
        counter.reset()
        let l = try Lanczos.eigen(counter, options: .init(largest: 2, smallest: 2))
        XCTAssertEqual(counter.count, l.products)
    }

    func testNegativeDominantEigenvalue() throws {
        // diag(−5, 1, 2): dominant is −5, the shifted run finds the largest, 2.
        let op = try DenseOperator(matrix: [-5, 0, 0, 0, 1, 0, 0, 0, 2], dimension: 3)
        let r = try PowerIteration.eigen(op, options: .init(tolerance: 1e-12, maxIterations: 500))
        XCTAssertEqual(r.dominant[0], -5, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(r.smallest), -5, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(r.largest), 2, accuracy: 1e-6)
    }

    func testZeroOperator() throws {
        let op = try DenseOperator(matrix: [Double](repeating: 0, count: 25), dimension: 5)
        let r = try PowerIteration.eigen(op)
        XCTAssertEqual(r.dominant, [0])
        XCTAssertEqual(r.smallest, 0)
        XCTAssertEqual(r.largest, 0)
        XCTAssertEqual(r.products, 2)
    }
}
