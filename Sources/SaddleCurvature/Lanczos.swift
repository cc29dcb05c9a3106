import SaddleMath

/// Extreme eigenvalues of a symmetric operator by Lanczos with full reorthogonalization: the k
/// largest and the k smallest from one run, with residual norms.
public enum Lanczos {
    /// Why the iteration stopped.
    public enum StopReason: String, Sendable {
        /// Every requested Ritz value's residual ≤ tolerance × spectrum scale.
        case converged
        /// `maxIterations` products were taken first.
        case maxIterations
        /// β ≈ 0 (or the full dimension was reached): the Krylov space is invariant and the Ritz
        /// values are exact eigenvalues — all the eigenvalues the start vector can see.
        case invariantSubspace
    }

    public struct Options: Sendable {
        /// How many of the largest eigenvalues to return (clamped to the dimension).
        public var largest: Int
        /// How many of the smallest eigenvalues to return (clamped to the dimension).
        public var smallest: Int
        /// Convergence when every requested residual ‖A·y − θ·y‖ ≤ `tolerance` × max|θ| over all
        /// Ritz values. Relative to the spectrum's scale on purpose: an eigenvalue at 0 never passes a
        /// per-eigenvalue relative test. The eigenvalue error is at most the residual (and usually its
        /// square over the gap). 0 runs to `maxIterations` or breakdown.
        public var tolerance: Double
        /// Cap on iterations (= operator products); nil means min(n, max(100, 4·(largest + smallest))).
        public var maxIterations: Int?
        /// Seed of the Gaussian start vector (ignored when `startVector` is given).
        public var seed: UInt64
        /// An explicit start vector (normalized here); must be non-zero and finite.
        public var startVector: [Double]?
        /// Return the Ritz vectors (unit norm) of the returned eigenvalues.
        public var computeVectors: Bool

        public init(
            largest: Int = 5, smallest: Int = 5, tolerance: Double = 1e-6, maxIterations: Int? = nil,
            seed: UInt64 = 0, startVector: [Double]? = nil, computeVectors: Bool = false
        ) {
            self.largest = largest
            self.smallest = smallest
            self.tolerance = tolerance
            self.maxIterations = maxIterations
            self.seed = seed
            self.startVector = startVector
            self.computeVectors = computeVectors
        }
    }

    /// Result of ``eigen(_:options:control:)``. Largest values come in descending order, smallest in
    /// ascending order; the two lists overlap when fewer Ritz values exist than both ask for.
    public struct Result: Sendable {
        public var largest: [Double]
        /// |β_m · last component of the Ritz vector| = ‖A·y − θ·y‖ for each of `largest`.
        public var largestResiduals: [Double]
        public var largestConverged: [Bool]
        /// Unit Ritz vectors for `largest` (empty unless requested).
        public var largestVectors: [[Double]]
        public var smallest: [Double]
        public var smallestResiduals: [Double]
        public var smallestConverged: [Bool]
        public var smallestVectors: [[Double]]
        /// Every Ritz value of the final tridiagonal matrix, ascending.
        public var ritzValues: [Double]
        /// max|θ| over `ritzValues`: the scale the tolerance is relative to.
        public var spectrumScale: Double
        public var tolerance: Double
        public var iterations: Int
        /// Operator products taken (one per iteration).
        public var products: Int
        public var stopReason: StopReason
        /// The largest (and smallest) Ritz value after each iteration: the convergence history.
        public var largestHistory: [Double]
        public var smallestHistory: [Double]
        /// Caveats in words (clamping, one copy of repeated eigenvalues, too few Ritz values).
        public var notes: [String]

        /// Whether every returned value converged.
        public var converged: Bool { !largestConverged.contains(false) && !smallestConverged.contains(false) }
    }

    /// The note attached to every result.
    public static let multiplicityNote =
        "single-vector Lanczos finds one copy of a repeated eigenvalue (further copies may surface only through "
        + "rounding, after many iterations); multiplicities are not reported"

    /// Runs Lanczos on `op` until the requested extreme Ritz values converge, `maxIterations`
    /// products have been taken, or the Krylov space is invariant.
    ///
    /// - Throws: ``CurvatureError/invalidArgument(_:)`` for bad options or a zero-dimensional
    ///   operator; ``CurvatureError/nonFiniteProduct(algorithm:product:index:value:)`` when a
    ///   product contains NaN or ±∞; whatever `control.checkCancelled` or the operator throws.
    public static func eigen<Op: SymmetricOperator>(
        _ op: Op, options: Options = Options(), control: CurvatureControl = .none
    ) throws -> Result {
        let n = op.dimension
        var notes: [String] = []
        guard n > 0 else { throw CurvatureError.invalidArgument("the operator has dimension 0; nothing to compute") }
        guard options.largest >= 0, options.smallest >= 0, options.largest + options.smallest > 0 else {
            throw CurvatureError.invalidArgument(
                "`largest` and `smallest` must be non-negative and not both 0, got \(options.largest) and \(options.smallest)")
        }
        guard options.tolerance >= 0, options.tolerance.isFinite else {
            throw CurvatureError.invalidArgument("`tolerance` must be a finite number ≥ 0, got \(options.tolerance)")
        }
        let kLargest = min(options.largest, n)
        let kSmallest = min(options.smallest, n)
        if kLargest < options.largest || kSmallest < options.smallest {
            notes.append(
                "asked for \(options.largest) largest and \(options.smallest) smallest eigenvalues of a "
                    + "\(n)-dimensional operator; clamped to \(kLargest) and \(kSmallest)")
        }
        let defaultMax = min(n, max(100, 4 * (kLargest + kSmallest)))
        if let m = options.maxIterations, m < 1 {
            throw CurvatureError.invalidArgument("`maxIterations` must be at least 1, got \(m)")
        }
        let maxIterations = min(options.maxIterations ?? defaultMax, n)
        let start = try startVector(options, dimension: n)

        var products = CheckedProducts(op, algorithm: "Lanczos", control: control)
        var process = LanczosProcess(start: start, reserve: maxIterations)
        var largestHistory: [Double] = []
        var smallestHistory: [Double] = []
        var stopReason = StopReason.maxIterations
        var last: RitzValues?

        while process.steps < maxIterations {
            try process.step(&products)
            let m = process.steps
            let ritz = try RitzValues(alphas: process.alphas, betas: process.betas)
            last = ritz
            largestHistory.append(ritz.values[m - 1])
            smallestHistory.append(ritz.values[0])
            control.progress(Double(m) / Double(maxIterations), "Lanczos iteration \(m) of at most \(maxIterations)")
            if process.exhausted {
                stopReason = .invariantSubspace
                break
            }
            if ritz.converged(largest: kLargest, smallest: kSmallest, tolerance: options.tolerance) {
                stopReason = .converged
                break
            }
        }

        let m = process.steps
        guard let ritz = last else {
            throw CurvatureError.invalidArgument("Lanczos took no step; `maxIterations` must be at least 1")
        }
        let values = ritz.values, residuals = ritz.residuals, scale = ritz.scale
        let exact = stopReason == .invariantSubspace
        func isConverged(_ i: Int) -> Bool { exact || ritz.isConverged(i, tolerance: options.tolerance) }
        func vector(_ i: Int) -> [Double] {
            var y = process.ritzVector(ritz.decomposition.vectors[(i * m)..<((i + 1) * m)])
            let norm = Vector.norm(y)
            if norm > 0 { Vector.scale(&y, by: 1 / norm) }
            return y
        }
        let (largestIdx, smallestIdx) = ritz.extremes(largest: kLargest, smallest: kSmallest)
        if exact && m < max(kLargest, kSmallest) {
            notes.append(
                "the Krylov space of the start vector is invariant after \(m) steps: it holds only \(m) distinct "
                    + "eigenvalues, so fewer values than requested are returned (the others repeat these or are orthogonal to the start vector)"
            )
        }
        notes.append(multiplicityNote)
        return Result(
            largest: largestIdx.map { values[$0] },
            largestResiduals: largestIdx.map { residuals[$0] },
            largestConverged: largestIdx.map(isConverged),
            largestVectors: options.computeVectors ? largestIdx.map(vector) : [],
            smallest: smallestIdx.map { values[$0] },
            smallestResiduals: smallestIdx.map { residuals[$0] },
            smallestConverged: smallestIdx.map(isConverged),
            smallestVectors: options.computeVectors ? smallestIdx.map(vector) : [],
            ritzValues: values, spectrumScale: scale, tolerance: options.tolerance,
            iterations: m, products: products.count, stopReason: stopReason,
            largestHistory: largestHistory, smallestHistory: smallestHistory, notes: notes)
    }

    static func startVector(_ options: Options, dimension n: Int) throws -> [Double] {
        guard var v = options.startVector else {
            var rng = SeededRandom(seed: options.seed)
            return Vec.randomUnit(dimension: n, rng: &rng)
        }
        guard v.count == n else { throw CurvatureError.dimensionMismatch(expected: n, got: v.count) }
        let norm = Vector.norm(v)
        guard norm > 0, norm.isFinite else {
            throw CurvatureError.invalidArgument("the start vector must be finite and non-zero, its norm is \(norm)")
        }
        Vector.scale(&v, by: 1 / norm)
        return v
    }
}
