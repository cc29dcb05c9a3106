import SaddleMath

/// The Lanczos three-term recurrence with full reorthogonalization, shared by the extreme
/// eigenvalue solver and stochastic Lanczos quadrature.
///
/// After `m` steps, A·Q_m = Q_m·T_m + β_m·q_m·e_mᵀ with T_m tridiagonal (`alphas`, `betas[0..<m−1]`)
/// and β_m = `betas[m−1]`. Each new vector is orthogonalized against every previous one by
/// classical Gram–Schmidt, so T_m's eigenvalues are free of the spurious copies that plain Lanczos
/// produces in floating point. A second pass runs only when the first removed much of the vector
/// (‖w‖ fell below 1/√2 of its value: the DGKS test ARPACK uses), since only then can the first
/// pass have left a component along the basis above rounding; after the three-term recurrence this
/// is rare, which halves the cost of full reorthogonalization (two passes over the whole basis per
/// step instead of four).
struct LanczosProcess {
    let dimension: Int
    private(set) var basis: FlatBasis
    private(set) var alphas: [Double] = []
    /// `betas[j]` = ‖w_j‖ after step j; `betas[m−1]` is the residual coupling β_m.
    private(set) var betas: [Double] = []
    /// Largest ‖A·q_j‖ seen: a lower bound on ‖A‖, the scale for the breakdown test.
    private(set) var normEstimate = 0.0
    /// The Krylov space became invariant (β ≈ 0) or reached the full dimension: T's eigenvalues are exact.
    private(set) var exhausted = false

    /// β ≤ this × ‖A‖ counts as breakdown.
    static let breakdownTolerance = 1e-12
    /// A second Gram–Schmidt pass runs when one pass shrinks ‖w‖ below this fraction (DGKS, 1/√2).
    static let reorthogonalizationThreshold = 0.5.squareRoot()
    /// Second Gram–Schmidt passes taken (for tests and profiling).
    private(set) var secondPasses = 0

    var steps: Int { alphas.count }
    var residualBeta: Double { betas.last ?? 0 }

    /// `start` must have unit norm.
    init(start: [Double], reserve: Int) {
        dimension = start.count
        basis = FlatBasis(dimension: start.count, reserve: reserve + 1)
        basis.append(start)
    }

    mutating func step<Op>(_ products: inout CheckedProducts<Op>) throws {
        precondition(!exhausted, "Lanczos step after breakdown")
        let j = alphas.count
        let q = basis.vector(j)
        var w = try products.apply(q)
        normEstimate = max(normEstimate, Vector.norm(w))
        let alpha = Vector.dot(q, w)
        Vector.axpy(-alpha, q, &w)
        if j > 0 { Vector.axpy(-betas[j - 1], basis.vector(j - 1), &w) }
        let (beta, twice) = basis.orthogonalizeTwiceIfNeeded(&w, threshold: Self.reorthogonalizationThreshold)
        if twice { secondPasses += 1 }
        alphas.append(alpha)
        betas.append(beta)
        if beta <= Self.breakdownTolerance * normEstimate || alphas.count == dimension {
            exhausted = true
        } else {
            Vector.scale(&w, by: 1 / beta)
            basis.append(w)
        }
    }

    /// Eigen-decomposition of T_m (ascending Ritz values; column i of `vectors` is eigenvector i).
    func tridiagonalEigen(vectors: Bool = true) throws -> SymmetricEigen.Decomposition {
        do {
            return try SymmetricEigen.tridiagonal(
                diagonal: alphas, offDiagonal: Array(betas.prefix(max(alphas.count - 1, 0))), vectors: vectors)
        } catch {
            throw CurvatureError.eigensolverFailed(error.description)
        }
    }

    /// Ritz vector Q_m·z for an eigenvector z of T_m (length m).
    func ritzVector(_ z: ArraySlice<Double>) -> [Double] { basis.combine(z) }
}
