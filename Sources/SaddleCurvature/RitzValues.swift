import SaddleMath

/// The Ritz values of a Lanczos tridiagonal matrix T_m with their residual norms: what Lanczos knows
/// after m steps, whether its vectors live here or in another process (the Python bridge runs the
/// recurrence inside PyTorch and sends only T_m).
///
/// For the Ritz pair (θ_i, y_i = Q_m·s_i), ‖A·y_i − θ_i·y_i‖ = β_m·|s_i[m−1]| exactly (in exact
/// arithmetic; full reorthogonalization keeps it so in floating point), so convergence is decided from
/// T_m and β_m alone.
public struct RitzValues: Sendable {
    /// Ritz values, ascending.
    public let values: [Double]
    /// Residual norm of each Ritz value, in the order of `values`.
    public let residuals: [Double]
    /// max|θ| over `values`: the scale a tolerance is relative to (0 for an empty matrix).
    public let scale: Double
    /// The decomposition of T_m (eigenvector i of T_m is column i).
    public let decomposition: SymmetricEigen.Decomposition

    /// Decomposes T_m with diagonal `alphas` (m values) and couplings `betas`: `betas[j]` = ‖w_j‖ after
    /// step j, so `betas[0..<m−1]` are the off-diagonal and `betas[m−1]` = β_m is the residual coupling.
    /// - Throws: ``CurvatureError/invalidArgument(_:)`` when `betas` does not hold m values;
    ///   ``CurvatureError/eigensolverFailed(_:)`` when LAPACK fails.
    public init(alphas: [Double], betas: [Double]) throws {
        let m = alphas.count
        guard betas.count == m else {
            throw CurvatureError.invalidArgument(
                "`betas` must hold one coupling per step (\(m)), the last being the residual coupling β_m; got \(betas.count)")
        }
        do {
            decomposition = try SymmetricEigen.tridiagonal(
                diagonal: alphas, offDiagonal: Array(betas.prefix(max(m - 1, 0))), vectors: true)
        } catch {
            throw CurvatureError.eigensolverFailed(error.description)
        }
        let residual = betas.last ?? 0, vectors = decomposition.vectors
        values = decomposition.values
        residuals = (0..<m).map { abs(residual * vectors[$0 * m + m - 1]) }
        scale = decomposition.values.reduce(0) { max($0, abs($1)) }
    }

    /// Number of Lanczos steps m.
    public var steps: Int { values.count }

    /// Indices (into `values`) of the `smallest` smallest and `largest` largest Ritz values, each clamped to m.
    public func extremes(largest: Int, smallest: Int) -> (largest: [Int], smallest: [Int]) {
        let m = steps
        return ((0..<min(largest, m)).map { m - 1 - $0 }, Array(0..<min(smallest, m)))
    }

    /// Whether the Ritz value at `index` has residual ≤ `tolerance` × ``scale``.
    public func isConverged(_ index: Int, tolerance: Double) -> Bool { residuals[index] <= tolerance * scale }

    /// Whether m ≥ max(largest, smallest) and every requested extreme Ritz value has converged.
    public func converged(largest: Int, smallest: Int, tolerance: Double) -> Bool {
        guard steps >= max(largest, smallest) else { return false }
        let (top, bottom) = extremes(largest: largest, smallest: smallest)
        return (top + bottom).allSatisfy { isConverged($0, tolerance: tolerance) }
    }
}
