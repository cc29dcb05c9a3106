import SaddleMath

/// A symmetric linear operator `v ↦ A·v` on ℝⁿ: the one abstraction every curvature algorithm
/// (Lanczos, power iteration, Hutchinson, spectral density) is written against.
///
/// The Hessian of a model's loss (an exact Pearlmutter product), its Gauss–Newton matrix, a dense
/// test matrix, a shifted operator or one diagonal block of any of these all conform. Algorithms
/// only ever call `apply`, so the number of calls is the cost they report ("products").
///
/// Contract: `apply` returns a vector of length `dimension`; it may return non-finite values
/// (algorithms detect them and throw ``CurvatureError/nonFiniteProduct(algorithm:product:index:value:)``);
/// it may throw, and the error propagates unchanged. Conformers need not be `Sendable`: one
/// request runs on one thread.
public protocol SymmetricOperator {
    /// n, the length of the vectors the operator acts on.
    var dimension: Int { get }
    /// A·v for a vector of length `dimension`.
    func apply(_ v: [Double]) throws -> [Double]
}

/// A dense symmetric `n × n` matrix (row-major) as an operator, for tests and tiny models.
public struct DenseOperator: SymmetricOperator, Sendable {
    public let dimension: Int
    /// The matrix, row-major, `dimension × dimension` values.
    public let matrix: [Double]

    /// Wraps `matrix` (row-major). Throws when the count is not n², when an entry is not finite,
    /// or when the matrix is not symmetric to 1e-12 relative to its largest entry (the algorithms
    /// assume symmetry; a non-symmetric matrix gives meaningless Ritz values).
    public init(matrix: [Double], dimension n: Int) throws(CurvatureError) {
        guard n >= 0, matrix.count == n * n else {
            throw .invalidArgument("a dense operator of dimension \(n) needs \(n * n) values, got \(matrix.count)")
        }
        if let i = matrix.firstIndex(where: { !$0.isFinite }) {
            throw .invalidArgument(
                "dense matrix entry (\(i / max(n, 1)), \(i % max(n, 1))) is \(matrix[i]); entries must be finite")
        }
        let scale = matrix.reduce(0) { max($0, abs($1)) }
        for i in 0..<n {
            for j in (i + 1)..<n where abs(matrix[i * n + j] - matrix[j * n + i]) > 1e-12 * scale {
                throw .invalidArgument(
                    "dense matrix is not symmetric: entry (\(i), \(j)) = \(matrix[i * n + j]) but (\(j), \(i)) = \(matrix[j * n + i])"
                )
            }
        }
        self.matrix = matrix
        self.dimension = n
    }

    public func apply(_ v: [Double]) throws -> [Double] {
        guard v.count == dimension else { throw CurvatureError.dimensionMismatch(expected: dimension, got: v.count) }
        var y = [Double](repeating: 0, count: dimension)
        if dimension == 0 { return y }
        matrix.withUnsafeBufferPointer { a in
            v.withUnsafeBufferPointer { x in
                y.withUnsafeMutableBufferPointer { yp in
                    Double.gemv(
                        trans: false, m: dimension, n: dimension, alpha: 1, a: a.baseAddress!, lda: dimension,
                        x: x.baseAddress!, beta: 0, y: yp.baseAddress!)
                }
            }
        }
        return y
    }
}

/// `A − σ·I`. Power iteration on `A − λ_max·I` converges to `λ_min − λ_max`, which is how the
/// smallest eigenvalue is found by a method that only finds the eigenvalue of largest magnitude.
public struct ShiftedOperator<Base: SymmetricOperator>: SymmetricOperator {
    public let base: Base
    /// σ, subtracted from every eigenvalue of `base`.
    public let shift: Double
    public var dimension: Int { base.dimension }

    public init(_ base: Base, shift: Double) {
        self.base = base
        self.shift = shift
    }

    public func apply(_ v: [Double]) throws -> [Double] {
        var y = try base.apply(v)
        guard y.count == v.count else { throw CurvatureError.dimensionMismatch(expected: v.count, got: y.count) }
        Vector.axpy(-shift, v, &y)
        return y
    }
}

/// The diagonal block `A[r, r]` of an operator for an index range `r` of the parameter vector:
/// the curvature of one layer's parameters with every other parameter held fixed.
///
/// Each product embeds the block vector in a zero vector of the full dimension, applies the base
/// operator once, and keeps the block's entries: one block product costs one full product.
public struct RestrictedOperator<Base: SymmetricOperator>: SymmetricOperator {
    public let base: Base
    /// The block's indices in the base operator's vectors.
    public let range: Range<Int>
    public var dimension: Int { range.count }

    /// Throws when `range` is empty or does not lie inside `0..<base.dimension`.
    public init(_ base: Base, range: Range<Int>) throws(CurvatureError) {
        guard !range.isEmpty, range.lowerBound >= 0, range.upperBound <= base.dimension else {
            throw .invalidArgument(
                "block range \(range.lowerBound)..<\(range.upperBound) must be non-empty and lie inside 0..<\(base.dimension)")
        }
        self.base = base
        self.range = range
    }

    public func apply(_ v: [Double]) throws -> [Double] {
        guard v.count == range.count else { throw CurvatureError.dimensionMismatch(expected: range.count, got: v.count) }
        var full = [Double](repeating: 0, count: base.dimension)
        full.replaceSubrange(range, with: v)
        let y = try base.apply(full)
        guard y.count == base.dimension else { throw CurvatureError.dimensionMismatch(expected: base.dimension, got: y.count) }
        return Array(y[range])
    }
}

/// Counts the products taken through it; a class so that the count is visible after an
/// algorithm that received a copy of the wrapper has returned. Not thread-safe (one request, one thread).
public final class CountingOperator<Base: SymmetricOperator>: SymmetricOperator {
    public let base: Base
    /// Number of `apply` calls so far (including ones that threw).
    public private(set) var count = 0
    public var dimension: Int { base.dimension }

    public init(_ base: Base) { self.base = base }

    public func apply(_ v: [Double]) throws -> [Double] {
        count += 1
        return try base.apply(v)
    }

    /// Sets the count back to zero.
    public func reset() { count = 0 }
}
