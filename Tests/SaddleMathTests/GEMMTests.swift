import XCTest
@testable import SaddleMath

final class GEMMTests: XCTestCase {
    /// Naive C = α·op(A)·op(B) + β·C in Double, the reference.
    private func naive(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Double, a: [Double], b: [Double],
        beta: Double, c: [Double]
    ) -> [Double] {
        var out = c
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k {
                    let aip = transA ? a[p * m + i] : a[i * k + p]
                    let bpj = transB ? b[j * k + p] : b[p * n + j]
                    sum += aip * bpj
                }
                out[i * n + j] = alpha * sum + beta * c[i * n + j]
            }
        }
        return out
    }

    /// All four transpose combinations, odd sizes (so a wrong leading dimension shows), α and β
    /// not 1 or 0. Tolerances: Double 1e-12 (k = 7 products of O(1) values: error ≈ k·ε);
    /// Float 1e-5 (the same in single precision, ε ≈ 6e-8, times k and magnitudes ≈ 10).
    private func check<T: BLASScalar>(_ type: T.Type, tolerance: Double) {
        let (m, n, k) = (5, 3, 7)
        var rng = SeededRandom(seed: 11)
        let a = (0..<(m * k)).map { _ in rng.gaussian() }
        let b = (0..<(k * n)).map { _ in rng.gaussian() }
        let c = (0..<(m * n)).map { _ in rng.gaussian() }
        for transA in [false, true] {
            for transB in [false, true] {
                let expected = naive(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1.5, a: a, b: b, beta: -0.5, c: c)
                let at = a.map { T($0) }, bt = b.map { T($0) }
                var ct = c.map { T($0) }
                at.withUnsafeBufferPointer { ap in
                    bt.withUnsafeBufferPointer { bp in
                        ct.withUnsafeMutableBufferPointer { cp in
                            T.gemm(
                                transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1.5,
                                a: ap.baseAddress!, lda: transA ? m : k, b: bp.baseAddress!, ldb: transB ? k : n,
                                beta: -0.5, c: cp.baseAddress!, ldc: n)
                        }
                    }
                }
                for i in 0..<(m * n) {
                    XCTAssertEqual(
                        Double(ct[i]), expected[i], accuracy: tolerance, "\(T.self) transA=\(transA) transB=\(transB) [\(i)]")
                }
            }
        }
    }

    func testGemmMatchesNaiveDouble() { check(Double.self, tolerance: 1e-12) }
    func testGemmMatchesNaiveFloat() { check(Float.self, tolerance: 1e-5) }

    /// Tensor.matmul with each transpose flag equals the naive product of the explicit operands.
    func testTensorMatmulAndTranspose() {
        var rng = SeededRandom(seed: 5)
        let a = Tensor<Double>.gaussian(shape: [4, 6], rng: &rng)
        let b = Tensor<Double>.gaussian(shape: [6, 3], rng: &rng)
        let expected = naive(
            transA: false, transB: false, m: 4, n: 3, k: 6, alpha: 1, a: a.storage, b: b.storage,
            beta: 0, c: [Double](repeating: 0, count: 12))
        let products = [
            a.matmul(b),
            a.transposed().matmul(b, transposeSelf: true),
            a.matmul(b.transposed(), transposeOther: true),
            a.transposed().matmul(b.transposed(), transposeSelf: true, transposeOther: true),
        ]
        for p in products {
            XCTAssertEqual(p.shape, [4, 3])
            for i in 0..<12 { XCTAssertEqual(p.storage[i], expected[i], accuracy: 1e-12) }
        }
        // Transpose of a 40×35 matrix (larger than one 32-block) moves each element exactly.
        let big = Tensor<Double>.gaussian(shape: [40, 35], rng: &rng)
        let t = big.transposed()
        XCTAssertEqual(t.shape, [35, 40])
        XCTAssertEqual(t[34, 39], big[39, 34])
        XCTAssertEqual(t[7, 33], big[33, 7])
        XCTAssertEqual(t.transposed(), big)
    }
}
