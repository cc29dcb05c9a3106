import SaddleMath
import XCTest

@testable import SaddleCurvature

/// The Lanczos basis stays orthonormal to rounding with the conditional (DGKS) second Gram–Schmidt
/// pass: Lanczos keeps one pass almost always, and a vector inside the span takes the second.
final class LanczosReorthogonalizationTests: XCTestCase {
    /// max |QᵀQ − I| over the basis built by `steps` Lanczos steps from a seeded start vector.
    private func orthogonalityLoss(_ matrix: [Double], n: Int, steps: Int) throws -> (loss: Double, process: LanczosProcess) {
        let op = try DenseOperator(matrix: matrix, dimension: n)
        var rng = SeededRandom(seed: 5)
        var process = LanczosProcess(start: Vec.randomUnit(dimension: n, rng: &rng), reserve: steps)
        var products = CheckedProducts(op, algorithm: "Lanczos", control: .none)
        while process.steps < steps && !process.exhausted { try process.step(&products) }
        let q = process.basis.storage
        let m = process.basis.count
        var loss = 0.0
        for i in 0..<m {
            for j in 0...i {
                var s = 0.0
                for k in 0..<n { s += q[i * n + k] * q[j * n + k] }
                loss = max(loss, abs(s - (i == j ? 1 : 0)))
            }
        }
        return (loss, process)
    }

    /// Well-separated top eigenvalues converge early, which is exactly when plain Lanczos loses
    /// orthogonality (ghost copies). 150 steps on n = 300. Tolerance 1e-12: one pass leaves
    /// components of order ε·√2·√m when ‖w‖ keeps ≥ 1/√2 of its norm.
    func testBasisStaysOrthonormalWithMostlyOnePass() throws {
        let n = 300
        let top: [Double] = [20, 50, 100]
        let spectrum: [Double] = (0..<n).map { (i: Int) -> Double in i >= n - 3 ? top[i - (n - 3)] : Double(i) / Double(n) }
        let (loss, process) = try orthogonalityLoss(try TestMatrices.withSpectrum(spectrum, seed: 8), n: n, steps: 150)
        XCTAssertEqual(process.steps, 150)
        XCTAssertLessThan(loss, 1e-12)
        XCTAssertLessThan(process.secondPasses, process.steps / 2, "the second pass is the exception, not the rule")
    }

    /// A vector almost inside the basis span (q₀ + 1e-9·u): one pass leaves components along the basis of
    /// order ε relative to the input, i.e. ~1e-7 relative to the 1e-9-sized result, so the second pass must
    /// run; after it every component is ≤ 1e-14 × the result's norm (rounding of two passes over 12 vectors).
    func testVectorInsideTheSpanTakesTheSecondPass() throws {
        let n = 400
        var rng = SeededRandom(seed: 3)
        var basis = FlatBasis(dimension: n, reserve: 12)
        for _ in 0..<12 {
            var v = Vec.randomUnit(dimension: n, rng: &rng)
            basis.orthogonalize(&v)
            basis.orthogonalize(&v)
            Vector.scale(&v, by: 1 / Vector.norm(v))
            basis.append(v)
        }
        let u = Vec.randomUnit(dimension: n, rng: &rng)
        var w = basis.vector(0)
        Vector.axpy(1e-9, u, &w)
        for k in 1..<12 { Vector.axpy(0.3, basis.vector(k), &w) }
        let (norm, twice) = basis.orthogonalizeTwiceIfNeeded(&w)
        XCTAssertTrue(twice)
        XCTAssertEqual(norm, Vector.norm(w), accuracy: 1e-24)
        XCTAssertLessThan(norm, 1e-9 * 1.0001)
        for k in 0..<12 { XCTAssertLessThan(abs(Vector.dot(basis.vector(k), w)), 1e-14 * norm, "component along q\(k)") }

        // A vector mostly outside the span keeps one pass and is still orthogonal to rounding.
        var x = u
        Vector.axpy(0.1, basis.vector(3), &x)
        let (xNorm, xTwice) = basis.orthogonalizeTwiceIfNeeded(&x)
        XCTAssertFalse(xTwice)
        for k in 0..<12 { XCTAssertLessThan(abs(Vector.dot(basis.vector(k), x)), 1e-14 * xNorm) }
    }
}
