import SaddleMath

/// The eigenvalue density of a symmetric operator by stochastic Lanczos quadrature
/// (Ghorbani, Krishnan & Xiao 2019, "An Investigation into Neural Net Optimization via Hessian
/// Eigenvalue Density"; the method of PyHessian's `density`).
///
/// For each unit probe v, m Lanczos steps give T_m = Z·diag(θ)·Zᵀ and vᵀ f(A) v ≈ Σᵢ τᵢ f(θᵢ) with
/// nodes θᵢ and weights τᵢ = Z[0, i]² (Gauss quadrature; Σᵢ τᵢ = 1). Averaged over P probes
/// (each weight divided by P) this is a discrete spectral measure; the density is its Gaussian
/// broadening ρ(t) = Σ τ·N(t; θ, σ²) sampled on a grid.
public enum SpectralDensity {
    public enum Probe: String, Sendable {
        /// Standard Gaussian, normalized to unit length.
        case gaussian
        /// ±1 entries divided by √n.
        case rademacher
    }

    public struct Options: Sendable {
        public var probes: Int
        /// Lanczos steps per probe (clamped to the dimension; fewer if the Krylov space is invariant).
        public var steps: Int
        public var probe: Probe
        /// Absolute broadening σ; nil uses `relativeSigma` × (max node − min node), or × max|node|
        /// when all nodes coincide, or `relativeSigma` itself when every node is 0.
        public var sigma: Double?
        public var relativeSigma: Double
        /// Grid points; the grid spans [min node − 6σ, max node + 6σ], so less than 1e-8 of the
        /// broadened mass falls outside it.
        public var gridPoints: Int
        /// Nodes below −zeroTolerance × max|node| count as negative in `negativeMassFromWeights`
        /// (Ritz values of exact zeros come out around 1e-16 × scale, of either sign).
        public var zeroTolerance: Double
        public var seed: UInt64

        public init(
            probes: Int = 10, steps: Int = 80, probe: Probe = .gaussian, sigma: Double? = nil,
            relativeSigma: Double = 0.01, gridPoints: Int = 1000, zeroTolerance: Double = 1e-8, seed: UInt64 = 0
        ) {
            self.probes = probes
            self.steps = steps
            self.probe = probe
            self.sigma = sigma
            self.relativeSigma = relativeSigma
            self.gridPoints = gridPoints
            self.zeroTolerance = zeroTolerance
            self.seed = seed
        }
    }

    public struct Result: Sendable {
        /// Evenly spaced points and ρ there.
        public var grid: [Double]
        public var density: [Double]
        /// Quadrature nodes of all probes, concatenated; `weights` sum to 1.
        public var nodes: [Double]
        public var weights: [Double]
        /// Nodes contributed by each probe (its Lanczos steps).
        public var nodesPerProbe: [Int]
        public var sigma: Double
        /// Trapezoid integral of `density` over `grid` (≈ 1; reported so callers can check resolution).
        public var integral: Double
        /// Σ weights of nodes < −zeroTolerance × max|node|.
        public var negativeMassFromWeights: Double
        /// ∫_{−∞}^0 ρ(t) dt = Σ τ·Φ(−θ/σ), exactly (no grid error).
        public var negativeMassFromDensity: Double
        public var probes: Int
        public var products: Int
        public var notes: [String]
    }

    /// - Throws: ``CurvatureError`` for bad options or non-finite products; whatever
    ///   `control.checkCancelled` or the operator throws.
    public static func estimate<Op: SymmetricOperator>(
        _ op: Op, options: Options = Options(), control: CurvatureControl = .none
    ) throws -> Result {
        let n = op.dimension
        guard n > 0 else { throw CurvatureError.invalidArgument("the operator has dimension 0; nothing to compute") }
        guard options.probes >= 1 else {
            throw CurvatureError.invalidArgument("`probes` must be at least 1, got \(options.probes)")
        }
        guard options.steps >= 1 else { throw CurvatureError.invalidArgument("`steps` must be at least 1, got \(options.steps)") }
        guard options.gridPoints >= 2 else {
            throw CurvatureError.invalidArgument("`gridPoints` must be at least 2, got \(options.gridPoints)")
        }
        if let s = options.sigma, !(s > 0) || !s.isFinite {
            throw CurvatureError.invalidArgument("`sigma` must be a positive number, got \(s)")
        }
        guard options.relativeSigma > 0, options.relativeSigma.isFinite else {
            throw CurvatureError.invalidArgument("`relativeSigma` must be a positive number, got \(options.relativeSigma)")
        }
        var notes: [String] = []
        let steps = min(options.steps, n)
        if steps < options.steps { notes.append("Lanczos steps clamped from \(options.steps) to the dimension \(n)") }

        var rng = SeededRandom(seed: options.seed)
        var products = CheckedProducts(op, algorithm: "stochastic Lanczos quadrature", control: control)
        var nodes: [Double] = [], weights: [Double] = [], perProbe: [Int] = []
        for p in 0..<options.probes {
            var v: [Double]
            switch options.probe {
            case .gaussian: v = Vec.randomUnit(dimension: n, rng: &rng)
            case .rademacher:
                v = (0..<n).map { _ in rng.rademacher() }
                Vector.scale(&v, by: 1 / Double(n).squareRoot())
            }
            var process = LanczosProcess(start: v, reserve: steps)
            while process.steps < steps && !process.exhausted {
                try process.step(&products)
                let done = Double(p) + Double(process.steps) / Double(steps)
                control.progress(
                    done / Double(options.probes), "density: probe \(p + 1) of \(options.probes), step \(process.steps)")
            }
            let t = try process.tridiagonalEigen()
            let m = process.steps
            for i in 0..<t.values.count {
                let first = t.vectors[i * m]
                nodes.append(t.values[i])
                weights.append(first * first / Double(options.probes))
            }
            perProbe.append(t.values.count)
        }

        let low = nodes.min() ?? 0, high = nodes.max() ?? 0
        let scale = max(abs(low), abs(high))
        let sigma = options.sigma ?? options.relativeSigma * (high > low ? high - low : (scale > 0 ? scale : 1))
        let start = low - 6 * sigma, end = high + 6 * sigma
        let h = (end - start) / Double(options.gridPoints - 1)
        let grid = (0..<options.gridPoints).map { start + Double($0) * h }
        let norm = 1 / (sigma * (2 * Double.pi).squareRoot())
        let density = grid.map { t in
            zip(nodes, weights).reduce(0.0) { acc, nw in
                let z = (t - nw.0) / sigma
                return acc + nw.1 * norm * LibM.exp(-0.5 * z * z)
            }
        }
        var integral = 0.0
        for i in 1..<grid.count { integral += 0.5 * h * (density[i] + density[i - 1]) }
        if abs(integral - 1) > 1e-3 {
            notes.append("the density integrates to \(integral) on the grid, not 1: use more grid points or a larger sigma")
        }
        let negativeFromWeights = zip(nodes, weights).reduce(0.0) { $0 + ($1.0 < -options.zeroTolerance * scale ? $1.1 : 0) }
        // Φ(−θ/σ) = ½·erfc(θ/(σ√2))
        let negativeFromDensity = zip(nodes, weights).reduce(0.0) {
            $0 + $1.1 * 0.5 * LibM.erfc($1.0 / (sigma * 2.0.squareRoot()))
        }
        return Result(
            grid: grid, density: density, nodes: nodes, weights: weights, nodesPerProbe: perProbe, sigma: sigma,
            integral: integral, negativeMassFromWeights: negativeFromWeights, negativeMassFromDensity: negativeFromDensity,
            probes: options.probes, products: products.count, notes: notes)
    }
}
