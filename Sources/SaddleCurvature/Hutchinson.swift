import SaddleMath

/// The trace of a symmetric operator by Hutchinson's estimator: tr(A) = E[zᵀA·z] for Rademacher z.
public enum Hutchinson {
    public struct Options: Sendable {
        /// Probes (= products) at most; at least 2 so a standard error exists.
        public var probes: Int
        /// Stop early once standardError ≤ this × |estimate| (nil: always use `probes`).
        public var targetRelativeStandardError: Double?
        /// Probes taken before the early-stopping test applies (guards against a lucky small spread).
        public var minimumProbes: Int
        public var seed: UInt64

        public init(probes: Int = 100, targetRelativeStandardError: Double? = nil, minimumProbes: Int = 10, seed: UInt64 = 0) {
            self.probes = probes
            self.targetRelativeStandardError = targetRelativeStandardError
            self.minimumProbes = minimumProbes
            self.seed = seed
        }
    }

    /// estimate = mean of zᵢᵀA·zᵢ; standardError = sample standard deviation (1/(p − 1)) / √p.
    public struct Result: Sendable {
        public var estimate: Double
        public var standardError: Double
        /// Probes used (= products).
        public var probes: Int
        public var products: Int
        /// Whether the target relative standard error stopped it before `Options.probes`.
        public var stoppedEarly: Bool
        /// Each probe's zᵀA·z.
        public var samples: [Double]
    }

    /// - Throws: ``CurvatureError`` for bad options or non-finite products; whatever
    ///   `control.checkCancelled` or the operator throws.
    public static func trace<Op: SymmetricOperator>(
        _ op: Op, options: Options = Options(), control: CurvatureControl = .none
    ) throws -> Result {
        let n = op.dimension
        guard n > 0 else { throw CurvatureError.invalidArgument("the operator has dimension 0; nothing to compute") }
        guard options.probes >= 2 else {
            throw CurvatureError.invalidArgument("`probes` must be at least 2 (for a standard error), got \(options.probes)")
        }
        if let target = options.targetRelativeStandardError, !(target > 0) || !target.isFinite {
            throw CurvatureError.invalidArgument("`targetRelativeStandardError` must be a positive number, got \(target)")
        }
        var rng = SeededRandom(seed: options.seed)
        var products = CheckedProducts(op, algorithm: "Hutchinson", control: control)
        var samples: [Double] = []
        samples.reserveCapacity(options.probes)
        var stoppedEarly = false
        while samples.count < options.probes {
            let z = (0..<n).map { _ in rng.rademacher() }
            samples.append(Vector.dot(z, try products.apply(z)))
            control.progress(
                Double(samples.count) / Double(options.probes), "Hutchinson probe \(samples.count) of \(options.probes)")
            if let target = options.targetRelativeStandardError, samples.count >= max(options.minimumProbes, 2),
                samples.count < options.probes
            {
                let (mean, se) = meanAndStandardError(samples)
                if se <= target * abs(mean) {
                    stoppedEarly = true
                    break
                }
            }
        }
        let (mean, se) = meanAndStandardError(samples)
        return Result(
            estimate: mean, standardError: se, probes: samples.count, products: products.count,
            stoppedEarly: stoppedEarly, samples: samples)
    }

    /// Mean and sample standard deviation / √count (NaN for fewer than 2 values).
    static func meanAndStandardError(_ x: [Double]) -> (Double, Double) {
        let p = Double(x.count)
        let mean = x.reduce(0, +) / p
        guard x.count >= 2 else { return (mean, .nan) }
        let variance = x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (p - 1)
        return (mean, (variance / p).squareRoot())
    }
}
