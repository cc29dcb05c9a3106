import XCTest
@testable import SaddleMath

final class SymmetricEigenTests: XCTestCase {
    /// The n×n tridiagonal Toeplitz matrix with 2 on the diagonal and −1 beside it (the 1-D
    /// discrete Laplacian); its eigenvalues are 2 − 2cos(kπ/(n+1)), k = 1…n.
    private func laplacian(_ n: Int) -> [Double] {
        var a = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            a[i * n + i] = 2
            if i + 1 < n { a[i * n + i + 1] = -1; a[(i + 1) * n + i] = -1 }
        }
        return a
    }

    private func laplacianEigenvalues(_ n: Int) -> [Double] {
        (1...n).map { 2 - 2 * cos(Double($0) * Double.pi / Double(n + 1)) }
    }

    /// Tolerance 1e-12: the matrix has norm ≤ 4 and dsyevd is backward stable, so eigenvalue
    /// errors are a few ulps of 4 (≈ 1e-15); 1e-12 leaves room while catching any real error.
    func testDenseLaplacianEigenvaluesMatchClosedForm() throws {
        for n in [1, 2, 5, 12] {
            let d = try SymmetricEigen.dense(laplacian(n), n: n)
            let expected = laplacianEigenvalues(n)
            XCTAssertEqual(d.values.count, n)
            for k in 0..<n { XCTAssertEqual(d.values[k], expected[k], accuracy: 1e-12, "n = \(n), k = \(k)") }
        }
    }

    /// A = V Λ Vᵀ and VᵀV = I to 1e-12 (same reasoning: entries O(1), backward-stable solver).
    func testDenseReconstructsMatrixAndVectorsAreOrthonormal() throws {
        let n = 7
        var rng = SeededRandom(seed: 3)
        var a = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in i..<n { let v = rng.gaussian(); a[i * n + j] = v; a[j * n + i] = v } }
        let d = try SymmetricEigen.dense(a, n: n)
        XCTAssertEqual(d.values, d.values.sorted(), "eigenvalues ascend")
        for i in 0..<n {
            for j in 0..<n {
                var sum = 0.0
                for k in 0..<n {
                    sum += d.vector(k)[d.vector(k).startIndex + i] * d.values[k] * d.vector(k)[d.vector(k).startIndex + j]
                }
                XCTAssertEqual(sum, a[i * n + j], accuracy: 1e-12, "A[\(i),\(j)]")
                let vi = Array(d.vector(i)), vj = Array(d.vector(j))
                XCTAssertEqual(Vector.dot(vi, vj), i == j ? 1 : 0, accuracy: 1e-12, "V[\(i)]·V[\(j)]")
            }
        }
    }

    /// The tridiagonal solver on the same Laplacian agrees with the dense one and the closed
    /// form to 1e-12, and its eigenvectors agree up to sign (|cos| = 1 to 1e-10: the eigenvalues
    /// are well separated, gap ≥ 0.05, so vectors are determined to ~ε/gap).
    func testTridiagonalMatchesDense() throws {
        let n = 12
        let dense = try SymmetricEigen.dense(laplacian(n), n: n)
        let tri = try SymmetricEigen.tridiagonal(
            diagonal: [Double](repeating: 2, count: n),
            offDiagonal: [Double](repeating: -1, count: n - 1))
        let expected = laplacianEigenvalues(n)
        for k in 0..<n {
            XCTAssertEqual(tri.values[k], dense.values[k], accuracy: 1e-12)
            XCTAssertEqual(tri.values[k], expected[k], accuracy: 1e-12)
            let cosine = Vector.dot(Array(tri.vector(k)), Array(dense.vector(k)))
            XCTAssertEqual(abs(cosine), 1, accuracy: 1e-10, "eigenvector \(k)")
        }
    }

    /// Values-only mode returns the same eigenvalues and no vectors; an indefinite matrix keeps
    /// its negative eigenvalues (diag(−3, 1, 2) exactly).
    func testValuesOnlyAndIndefinite() throws {
        let d = try SymmetricEigen.dense([2, 0, 0, 0, -3, 0, 0, 0, 1], n: 3, vectors: false)
        XCTAssertEqual(d.values, [-3, 1, 2])
        XCTAssertTrue(d.vectors.isEmpty)
        let t = try SymmetricEigen.tridiagonal(diagonal: [5], offDiagonal: [])
        XCTAssertEqual(t.values, [5])
        XCTAssertEqual(t.vectors.map(abs), [1])
    }
}
