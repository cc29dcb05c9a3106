import XCTest
@testable import SaddleMath

final class TensorVectorTests: XCTestCase {
    func testMapZipReshapeConvert() {
        let t = Tensor<Double>(shape: [2, 3], storage: [1, -2, 3, -4, 5, 0.1])
        XCTAssertEqual(t.map { $0 * 2 }.storage, [2, -4, 6, -8, 10, 0.2])
        XCTAssertEqual(t.zip(t) { $0 - $1 }.storage, [0, 0, 0, 0, 0, 0])
        XCTAssertEqual(t.reshaped([3, 2])[2, 1], 0.1)
        XCTAssertEqual(t[1, 0], -4)
        // Double → Float rounds to nearest (0.1 becomes Float(0.1)); back to Double is exact.
        let f: Tensor<Float> = t.converted()
        XCTAssertEqual(f.storage[5], Float(0.1))
        XCTAssertEqual(f.converted(to: Double.self).storage[5], Double(Float(0.1)))
        // Out of Float range becomes infinity; NaN stays NaN.
        let extreme = Tensor<Double>(shape: [2], storage: [1e300, .nan]).converted(to: Float.self)
        XCTAssertEqual(extreme.storage[0], .infinity)
        XCTAssertTrue(extreme.storage[1].isNaN)
        XCTAssertEqual(Tensor<Float>(shape: [2, 2]).storage, [0, 0, 0, 0])
    }

    /// Hand-computed values; exact in binary floating point except the norm (1e-15: one rounding).
    func testDotNormAxpyScale() {
        let x: [Double] = [3, 4, 0]
        let y: [Double] = [1, 2, 3]
        XCTAssertEqual(Vector.dot(x, y), 11)
        XCTAssertEqual(Vector.norm(x), 5, accuracy: 1e-15)
        var z = y
        Vector.axpy(2, x, &z)
        XCTAssertEqual(z, [7, 10, 3])
        Vector.scale(&z, by: 0.5)
        XCTAssertEqual(z, [3.5, 5, 1.5])
        XCTAssertEqual(Vector.adding(x, y, times: -1), [2, 2, -3])
        XCTAssertEqual(Vector.scaled([Float(1), 2], by: 3), [3, 6])
        XCTAssertEqual(Vector.dot([Double](), []), 0)
        // BLAS nrm2 scales: no overflow for 1e200 entries.
        XCTAssertEqual(Vector.norm([1e200, 1e200]), 1e200 * 2.0.squareRoot(), accuracy: 1e186)
    }

    func testNormalizeAndOrthogonalize() {
        var v: [Double] = [0, 3, 4]
        XCTAssertEqual(Vector.normalize(&v), 5, accuracy: 1e-15)
        XCTAssertEqual(v[1], 0.6, accuracy: 1e-15)
        var zero: [Double] = [0, 0]
        XCTAssertEqual(Vector.normalize(&zero), 0)
        XCTAssertEqual(zero, [0, 0], "a zero vector is left unchanged")

        // Orthogonalize a random vector against 3 orthonormal vectors (eigenvectors of a random
        // symmetric matrix): the residual's dot products fall to ~1e-16; tolerance 1e-13.
        var rng = SeededRandom(seed: 9)
        let n = 10
        var a = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in i..<n { let g = rng.gaussian(); a[i * n + j] = g; a[j * n + i] = g } }
        guard let d = try? SymmetricEigen.dense(a, n: n) else { return XCTFail("dsyevd failed") }
        let basis = (0..<3).map { Array(d.vector($0)) }
        var x = (0..<n).map { _ in rng.gaussian() }
        let before = x
        Vector.orthogonalize(&x, against: basis)
        for q in basis { XCTAssertEqual(Vector.dot(q, x), 0, accuracy: 1e-13) }
        // What was removed lies in the span: x + Σ(q·before)q = before.
        var rebuilt = x
        for q in basis { Vector.axpy(Vector.dot(q, before), q, &rebuilt) }
        for i in 0..<n { XCTAssertEqual(rebuilt[i], before[i], accuracy: 1e-13) }
    }
}
