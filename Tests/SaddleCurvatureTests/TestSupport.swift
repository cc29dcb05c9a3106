import Foundation
import SaddleMath
import XCTest

@testable import SaddleCurvature

/// Matrices with a prescribed spectrum, for comparing the iterative algorithms with LAPACK.
enum TestMatrices {
    /// A random orthogonal n × n matrix (row-major): the eigenvectors of a random symmetric matrix.
    static func randomOrthogonal(_ n: Int, seed: UInt64) throws -> [Double] {
        var rng = SeededRandom(seed: seed)
        var a = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in i..<n {
                let x = rng.gaussian()
                a[i * n + j] = x
                a[j * n + i] = x
            }
        }
        return try SymmetricEigen.dense(a, n: n).vectors  // column j = eigenvector j; orthogonal either way
    }

    /// Q·diag(spectrum)·Qᵀ for a random orthogonal Q, exactly symmetrized.
    static func withSpectrum(_ spectrum: [Double], seed: UInt64) throws -> [Double] {
        let n = spectrum.count
        let q = try randomOrthogonal(n, seed: seed)
        var qd = q
        for i in 0..<n { for j in 0..<n { qd[i * n + j] *= spectrum[j] } }
        var a = [Double](repeating: 0, count: n * n)
        qd.withUnsafeBufferPointer { x in
            q.withUnsafeBufferPointer { y in
                a.withUnsafeMutableBufferPointer { c in
                    Double.gemm(
                        transA: false, transB: true, m: n, n: n, k: n, alpha: 1, a: x.baseAddress!, lda: n,
                        b: y.baseAddress!, ldb: n, beta: 0, c: c.baseAddress!, ldc: n)
                }
            }
        }
        for i in 0..<n {
            for j in (i + 1)..<n { let s = 0.5 * (a[i * n + j] + a[j * n + i]); a[i * n + j] = s; a[j * n + i] = s }
        }
        return a
    }

    /// A random symmetric matrix with Gaussian entries (an indefinite, Wigner-like spectrum).
    static func randomSymmetric(_ n: Int, seed: UInt64) -> [Double] {
        var rng = SeededRandom(seed: seed)
        var a = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in i..<n { let x = rng.gaussian(); a[i * n + j] = x; a[j * n + i] = x } }
        return a
    }

    /// Distinct eigenvalues: ascending values merged when within `tolerance` of the previous kept one.
    static func distinct(_ ascending: [Double], tolerance: Double) -> [Double] {
        var out: [Double] = []
        for v in ascending where out.last.map({ v - $0 > tolerance }) ?? true { out.append(v) }
        return out
    }
}

/// ‖A·v − θ·v‖ computed directly.
func trueResidual(_ op: DenseOperator, _ v: [Double], _ theta: Double) throws -> Double {
    let av = try op.apply(v)
    var s = 0.0
    for i in 0..<v.count { s += (av[i] - theta * v[i]) * (av[i] - theta * v[i]) }
    return s.squareRoot()
}

/// A flag that a test operator raises and a cancellation closure reads (across the @Sendable boundary).
final class CancelFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var raised = false
    func raise() { lock.lock(); raised = true; lock.unlock() }
    var isRaised: Bool { lock.lock(); defer { lock.unlock() }; return raised }
}

struct Cancelled: Error {}
