import SaddleMath
import XCTest

@testable import SaddleCurvature

final class LanczosTests: XCTestCase {
    /// Lanczos top-k and bottom-k (from one run) against LAPACK's dense eigenvalues. Single-vector
    /// Lanczos sees one copy of a repeated eigenvalue in exact arithmetic, and rounding may let later
    /// copies surface, so the check is: merged to distinct values, Lanczos's list is the dense list's
    /// distinct values in order (none skipped), and no value appears more often than its multiplicity.
    /// Tolerance: 1e-8 × max|λ|, since the run stops at residual ≤ 1e-10 × max|θ| and |θ − λ| ≤ residual.
    @discardableResult
    private func assertMatchesDense(
        _ matrix: [Double], n: Int, k: Int = 5, file: StaticString = #filePath, line: UInt = #line
    ) throws -> Lanczos.Result {
        let op = try DenseOperator(matrix: matrix, dimension: n)
        let result = try Lanczos.eigen(op, options: .init(largest: k, smallest: k, tolerance: 1e-10, maxIterations: n))
        let dense = try SymmetricEigen.dense(matrix, n: n, vectors: false).values
        let scale = max(abs(dense[0]), abs(dense[n - 1]))
        let tol = 1e-8 * scale
        for (got, wantAll) in [(result.largest, Array(dense.reversed())), (result.smallest, dense)] {
            XCTAssertFalse(got.isEmpty, file: file, line: line)
            let merged = got.reduce(into: [Double]()) { out, v in if out.last.map({ abs(v - $0) > tol }) ?? true { out.append(v) }
            }
            let distinct = wantAll.reduce(into: [Double]()) { out, v in
                if out.last.map({ abs(v - $0) > 10 * tol }) ?? true { out.append(v) }
            }
            XCTAssertLessThanOrEqual(merged.count, distinct.count, file: file, line: line)
            for (g, w) in zip(merged, distinct) { XCTAssertEqual(g, w, accuracy: tol, file: file, line: line) }
            for v in merged {
                let copies = got.filter { abs($0 - v) <= tol }.count
                let multiplicity = wantAll.filter { abs($0 - v) <= 10 * tol }.count
                XCTAssertLessThanOrEqual(copies, multiplicity, "copies of \(v)", file: file, line: line)
            }
            if result.stopReason != .invariantSubspace {
                XCTAssertEqual(got.count, k, "k values unless the Krylov space is exhausted", file: file, line: line)
            }
        }
        XCTAssertTrue(result.converged, "every returned value converged", file: file, line: line)
        XCTAssertEqual(result.products, result.iterations, file: file, line: line)
        XCTAssertTrue(result.notes.contains(Lanczos.multiplicityNote), file: file, line: line)
        return result
    }

    func testRandomIndefiniteMatricesOfSeveralSizes() throws {
        for (n, seed) in [(10, 1), (50, 2), (150, 3), (300, 4)] as [(Int, UInt64)] {
            let r = try assertMatchesDense(TestMatrices.randomSymmetric(n, seed: seed), n: n)
            XCTAssertLessThan(r.smallest[0], 0, "a Wigner matrix is indefinite")
            XCTAssertGreaterThan(r.largest[0], 0)
        }
    }

    func testClusteredSpectrum() throws {
        // Clusters at both ends, members 1e-3 apart relative to the scale 10.
        var spectrum = (0..<100).map { -1 + 2 * Double($0) / 99 }
        spectrum += [10, 10 - 1e-2, 10 - 2e-2, 6, 6.01, -8, -8.01, -8.02]
        let r = try assertMatchesDense(try TestMatrices.withSpectrum(spectrum, seed: 11), n: spectrum.count)
        XCTAssertEqual(r.largest[0], 10, accuracy: 1e-7)
        XCTAssertEqual(r.smallest[0], -8.02, accuracy: 1e-7)
    }

    func testRepeatedEigenvalues() throws {
        var spectrum = (0..<60).map { -1 + 2 * Double($0) / 59 }
        spectrum += [3, 3, 3, 3, -2, -2, -2]
        let matrix = try TestMatrices.withSpectrum(spectrum, seed: 12)
        try assertMatchesDense(matrix, n: spectrum.count)
        // Rounding lets further copies of 3 surface some 15–20 steps after the first converges (the
        // noise in its eigenspace grows by ~|3 − α|/β per step), so copies are neither guaranteed nor
        // excluded; the extreme values themselves converge in far fewer than n products.
        let early = try Lanczos.eigen(
            try DenseOperator(matrix: matrix, dimension: spectrum.count),
            options: .init(largest: 1, smallest: 1, tolerance: 1e-8))
        XCTAssertEqual(early.stopReason, .converged)
        XCTAssertLessThan(early.products, spectrum.count / 2)
        XCTAssertEqual(early.largest[0], 3, accuracy: 1e-7)
        XCTAssertEqual(early.smallest[0], -2, accuracy: 1e-7)
    }

    func testZeroOperatorBreaksDownImmediatelyWithTheExactAnswer() throws {
        let n = 20
        let op = try DenseOperator(matrix: [Double](repeating: 0, count: n * n), dimension: n)
        let r = try Lanczos.eigen(op, options: .init(largest: 5, smallest: 5))
        XCTAssertEqual(r.stopReason, .invariantSubspace)
        XCTAssertEqual(r.products, 1)
        XCTAssertEqual(r.largest, [0])
        XCTAssertEqual(r.smallest, [0])
        XCTAssertEqual(r.largestResiduals, [0])
        XCTAssertEqual(r.largestConverged, [true])
        XCTAssertEqual(r.spectrumScale, 0)
        XCTAssertEqual(r.notes.count, 2, "too-few-values note and multiplicity note: \(r.notes)")
    }

    func testRankOneOperator() throws {
        let n = 40
        var rng = SeededRandom(seed: 5)
        let u = (0..<n).map { _ in rng.gaussian() }
        let uu = u.reduce(0) { $0 + $1 * $1 }
        var a = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0..<n { a[i * n + j] = 4 * u[i] * u[j] / uu } }
        let r = try assertMatchesDense(a, n: n)
        XCTAssertEqual(r.largest.count, 2, "eigenvalues 4 and 0 only")
        XCTAssertEqual(r.largest[0], 4, accuracy: 1e-12)
        XCTAssertEqual(r.smallest[0], 0, accuracy: 1e-12)
        XCTAssertEqual(r.stopReason, .invariantSubspace)
        XCTAssertEqual(r.iterations, 2)
    }

    /// Residual norms reported from the tridiagonal matrix equal ‖A·y − θ·y‖ computed directly, on a
    /// run stopped early so the residuals are far from zero. Tolerance 1e-10 × scale: the identity
    /// A·Q = Q·T + β·q·eᵀ holds to rounding when every vector is reorthogonalized.
    func testReportedResidualsEqualTrueResiduals() throws {
        let n = 200
        let matrix = TestMatrices.randomSymmetric(n, seed: 21)
        let op = try DenseOperator(matrix: matrix, dimension: n)
        let r = try Lanczos.eigen(op, options: .init(largest: 4, smallest: 4, maxIterations: 25, computeVectors: true))
        XCTAssertEqual(r.stopReason, .maxIterations)
        XCTAssertEqual(r.largestVectors.count, 4)
        let pairs =
            zip(r.largest, zip(r.largestResiduals, r.largestVectors)).map { ($0, $1.0, $1.1) }
            + zip(r.smallest, zip(r.smallestResiduals, r.smallestVectors)).map { ($0, $1.0, $1.1) }
        var sawLarge = false
        for (theta, reported, y) in pairs {
            XCTAssertEqual(y.reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-12, "unit Ritz vector")
            let actual = try trueResidual(op, y, theta)
            XCTAssertEqual(reported, actual, accuracy: 1e-10 * r.spectrumScale)
            if actual > 1e-4 * r.spectrumScale { sawLarge = true }
        }
        XCTAssertTrue(sawLarge, "some residual is not yet small, so the comparison is not 0 = 0")
    }

    func testKLargerThanDimensionIsClampedAndSaidSo() throws {
        let matrix: [Double] = [2, 1, 0, 0, 1, 2, 1, 0, 0, 1, 2, 1, 0, 0, 1, 2]
        let r = try Lanczos.eigen(try DenseOperator(matrix: matrix, dimension: 4), options: .init(largest: 10, smallest: 10))
        XCTAssertEqual(r.largest.count, 4)
        XCTAssertEqual(r.smallest.count, 4)
        XCTAssertTrue(r.notes.contains { $0.contains("clamped to 4 and 4") }, "\(r.notes)")
        // Eigenvalues of tridiag(1, 2, 1) of size 4: 2 + 2cos(kπ/5).
        let exact = (1...4).map { 2 + 2 * cos(Double($0) * Double.pi / 5) }
        for (got, want) in zip(r.largest, exact) { XCTAssertEqual(got, want, accuracy: 1e-13) }
    }

    func testNonFiniteProductThrows() throws {
        /// diag(1, …, 10) whose third product has +∞ at entry 4.
        struct InfinityOnThirdProduct: SymmetricOperator {
            let counter: CountingOperator<DenseOperator>
            var dimension: Int { counter.dimension }
            func apply(_ v: [Double]) throws -> [Double] {
                var y = try counter.apply(v)
                if counter.count == 3 { y[4] = .infinity }
                return y
            }
        }
        var entries = [Double](repeating: 0, count: 100)
        for i in 0..<10 { entries[i * 11] = Double(i + 1) }
        let diagonal = try DenseOperator(matrix: entries, dimension: 10)
        XCTAssertThrowsError(try Lanczos.eigen(InfinityOnThirdProduct(counter: CountingOperator(diagonal)))) { error in
            guard case .nonFiniteProduct(_, let product, let index, let value) = error as? CurvatureError else {
                return XCTFail("wrong error \(error)")
            }
            XCTAssertEqual(product, 3)
            XCTAssertEqual(index, 4)
            XCTAssertEqual(value, .infinity)
            XCTAssertTrue("\(error)".contains("not finite"))
        }
    }

    /// Cancellation is checked before every product: raised during product N, the run stops
    /// before product N + 1 is taken.
    func testCancellationStopsWithinOneProduct() throws {
        let flag = CancelFlag()
        struct Tripwire: SymmetricOperator {
            let inner: CountingOperator<DenseOperator>
            let flag: CancelFlag
            let after: Int
            var dimension: Int { inner.dimension }
            func apply(_ v: [Double]) throws -> [Double] {
                let y = try inner.apply(v)
                if inner.count >= after { flag.raise() }
                return y
            }
        }
        let inner = CountingOperator(try DenseOperator(matrix: TestMatrices.randomSymmetric(60, seed: 9), dimension: 60))
        let control = CurvatureControl(checkCancelled: { if flag.isRaised { throw Cancelled() } })
        XCTAssertThrowsError(
            try Lanczos.eigen(Tripwire(inner: inner, flag: flag, after: 7), options: .init(tolerance: 0), control: control)
        ) { XCTAssertTrue($0 is Cancelled, "the control's error propagates unchanged") }
        XCTAssertLessThanOrEqual(inner.count, 8)
        XCTAssertGreaterThanOrEqual(inner.count, 7)
    }

    func testInvalidOptionsGiveClearErrors() throws {
        let op = try DenseOperator(matrix: [1, 0, 0, 1], dimension: 2)
        XCTAssertThrowsError(try Lanczos.eigen(op, options: .init(largest: 0, smallest: 0)))
        XCTAssertThrowsError(try Lanczos.eigen(op, options: .init(tolerance: -1)))
        XCTAssertThrowsError(try Lanczos.eigen(op, options: .init(startVector: [0, 0]))) {
            XCTAssertTrue("\($0)".contains("non-zero"))
        }
        XCTAssertThrowsError(try DenseOperator(matrix: [1, 2, 3, 4], dimension: 2)) {
            XCTAssertTrue("\($0)".contains("not symmetric"))
        }
    }

    func testSameSeedSameResult() throws {
        let op = try DenseOperator(matrix: TestMatrices.randomSymmetric(30, seed: 3), dimension: 30)
        let a = try Lanczos.eigen(op, options: .init(maxIterations: 8, seed: 42))
        let b = try Lanczos.eigen(op, options: .init(maxIterations: 8, seed: 42))
        XCTAssertEqual(a.largest, b.largest)
        XCTAssertEqual(a.largestResiduals, b.largestResiduals)
    }
}
