import SaddleMath

/// Power iteration with deflation, the method PyHessian uses, kept for comparison with Lanczos
/// (which needs far fewer products for the same accuracy).
///
/// Each eigenpair: start from a Gaussian vector; repeat v ← deflate(v) against the vectors found so
/// far, normalize, Hv = A·v, θ = vᵀHv, v ← Hv/‖Hv‖, and stop when |θ_prev − θ| / (|θ_prev| + 1e-6) <
/// `tolerance` (PyHessian's criterion, including its absolute 1e-6 floor). It finds the eigenvalues
/// of largest *magnitude*. The algebraically largest and smallest come from a second run on
/// A − θ₁·I, whose dominant eigenvalue is λ_min − θ₁ when θ₁ > 0 (λ_max − θ₁ when θ₁ < 0).
public enum PowerIteration {
    public struct Options: Sendable {
        /// How many dominant eigenpairs (by magnitude) to find by deflation.
        public var count: Int
        /// PyHessian's relative-change tolerance (its default 1e-3).
        public var tolerance: Double
        /// Products per eigenpair at most (PyHessian's default 100).
        public var maxIterations: Int
        public var seed: UInt64
        /// Also run on the shifted operator to get the algebraically largest and smallest eigenvalues.
        public var findSmallest: Bool
        /// Return the unit eigenvectors of `dominant`.
        public var computeVectors: Bool

        public init(
            count: Int = 1, tolerance: Double = 1e-3, maxIterations: Int = 100, seed: UInt64 = 0,
            findSmallest: Bool = true, computeVectors: Bool = false
        ) {
            self.count = count
            self.tolerance = tolerance
            self.maxIterations = maxIterations
            self.seed = seed
            self.findSmallest = findSmallest
            self.computeVectors = computeVectors
        }
    }

    public struct Result: Sendable {
        /// The dominant eigenvalues (largest |λ| first, in the order found).
        public var dominant: [Double]
        public var dominantConverged: [Bool]
        /// Products spent on each dominant eigenpair.
        public var dominantIterations: [Int]
        public var dominantVectors: [[Double]]
        /// Algebraically largest and smallest eigenvalue (nil unless `findSmallest`).
        public var largest: Double?
        public var smallest: Double?
        /// Whether the shifted run converged (nil unless `findSmallest`).
        public var shiftedConverged: Bool?
        /// All operator products, both runs.
        public var products: Int
        /// The Rayleigh quotient after each product of the first eigenpair: the convergence history.
        public var history: [Double]
    }

    /// - Throws: ``CurvatureError`` for bad options or non-finite products; whatever
    ///   `control.checkCancelled` or the operator throws.
    public static func eigen<Op: SymmetricOperator>(
        _ op: Op, options: Options = Options(), control: CurvatureControl = .none
    ) throws -> Result {
        let n = op.dimension
        guard n > 0 else { throw CurvatureError.invalidArgument("the operator has dimension 0; nothing to compute") }
        guard options.count >= 1, options.count <= n else {
            throw CurvatureError.invalidArgument("`count` must be in 1...\(n), got \(options.count)")
        }
        guard options.maxIterations >= 1 else {
            throw CurvatureError.invalidArgument("`maxIterations` must be at least 1, got \(options.maxIterations)")
        }
        guard options.tolerance >= 0, options.tolerance.isFinite else {
            throw CurvatureError.invalidArgument("`tolerance` must be a finite number ≥ 0, got \(options.tolerance)")
        }
        var rng = SeededRandom(seed: options.seed)
        var products = CheckedProducts(op, algorithm: "power iteration", control: control)
        var found: [[Double]] = []
        var dominant: [Double] = [], converged: [Bool] = [], iterations: [Int] = []
        var history: [Double] = []
        let total = Double(options.count + (options.findSmallest ? 1 : 0))
        for k in 0..<options.count {
            let before = products.count
            let run = try dominantPair(
                apply: { try products.apply($0) }, dimension: n, deflate: found, options: options, rng: &rng,
                onQuotient: { if k == 0 { history.append($0) } },
                progress: { control.progress((Double(k) + $0) / total, "power iteration: eigenvalue \(k + 1), product \($1)") })
            dominant.append(run.value)
            converged.append(run.converged)
            iterations.append(products.count - before)
            found.append(run.vector)
        }
        var result = Result(
            dominant: dominant, dominantConverged: converged, dominantIterations: iterations,
            dominantVectors: options.computeVectors ? found : [], largest: nil, smallest: nil, shiftedConverged: nil,
            products: products.count, history: history)
        if options.findSmallest {
            let shift = dominant[0]
            var shifted = CheckedProducts(
                ShiftedOperator(op, shift: shift), algorithm: "power iteration (shifted)", control: control)
            let run = try dominantPair(
                apply: { try shifted.apply($0) }, dimension: n, deflate: [], options: options, rng: &rng, onQuotient: { _ in },
                progress: { control.progress((total - 1 + $0) / total, "power iteration: shifted run, product \($1)") })
            let other = run.value + shift
            result.largest = max(shift, other)
            result.smallest = min(shift, other)
            result.shiftedConverged = run.converged
            result.products += shifted.count
        }
        return result
    }

    private struct Pair {
        var value: Double
        var vector: [Double]
        var converged: Bool
    }

    private static func dominantPair(
        apply: ([Double]) throws -> [Double], dimension n: Int, deflate: [[Double]], options: Options,
        rng: inout SeededRandom, onQuotient: (Double) -> Void, progress: (Double, Int) -> Void
    ) throws -> Pair {
        var v = (0..<n).map { _ in rng.gaussian() }
        var eigenvalue: Double?
        for iteration in 1...options.maxIterations {
            for u in deflate { Vector.axpy(-Vector.dot(u, v), u, &v) }
            let norm = Vector.norm(v)
            guard norm > 0 else {
                // v lies in the span of the deflated vectors: only possible when they span ℝⁿ.
                return Pair(value: 0, vector: v, converged: false)
            }
            Vector.scale(&v, by: 1 / norm)
            let hv = try apply(v)
            let quotient = Vector.dot(hv, v)
            onQuotient(quotient)
            progress(Double(iteration) / Double(options.maxIterations), iteration)
            let hvNorm = Vector.norm(hv)
            if hvNorm == 0 {
                // A·v = 0: v is an exact eigenvector for 0.
                return Pair(value: 0, vector: v, converged: true)
            }
            v = hv
            Vector.scale(&v, by: 1 / hvNorm)
            if let previous = eigenvalue, abs(previous - quotient) / (abs(previous) + 1e-6) < options.tolerance {
                return Pair(value: quotient, vector: v, converged: true)
            }
            eigenvalue = quotient
        }
        return Pair(value: eigenvalue ?? 0, vector: v, converged: false)
    }
}
