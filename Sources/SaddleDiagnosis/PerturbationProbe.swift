import SaddleMath

/// Perturbed gradient descent as a probe (Jin et al. 2017): from θ + ξ, with ξ uniform in the ball of
/// radius r, take a few gradient steps and see whether the loss ends up below f(θ). Near a strict
/// saddle or a higher-order saddle (where the gradient and Hessian vanish) some perturbations lead
/// downhill; near a minimum none do. Pure given the seed: it only calls `loss` and `gradient`.
public enum PerturbationProbe {
    /// What the probes saw. Decreases are `baseLoss − loss`, so positive means descent.
    public struct Result: Sendable, Equatable {
        /// f(θ).
        public var baseLoss: Double
        /// For each probe, f(θ) − min over its trajectory (θ+ξ and every gradient step) of finite losses;
        /// −∞ when none was finite.
        public var decreases: [Double]
        /// The largest of ``decreases`` (−∞ when there are none).
        public var bestDecrease: Double
        /// Number of probes run.
        public var probes: Int
        public var radius: Double
        public var steps: Int
        public var learningRate: Double
        public var seed: UInt64

        public init(
            baseLoss: Double, decreases: [Double], bestDecrease: Double, probes: Int, radius: Double,
            steps: Int, learningRate: Double, seed: UInt64
        ) {
            self.baseLoss = baseLoss
            self.decreases = decreases
            self.bestDecrease = bestDecrease
            self.probes = probes
            self.radius = radius
            self.steps = steps
            self.learningRate = learningRate
            self.seed = seed
        }

        /// Probes whose decrease is positive.
        public var descendingProbes: Int { decreases.filter { $0 > 0 }.count }
    }

    /// Runs `probes` perturbed-gradient-descent probes.
    ///
    /// Each probe draws ξ uniformly from the ball of radius `radius` (a Gaussian direction scaled by
    /// r·U^{1/n}), then takes `steps` steps θ ← θ − η∇f(θ). A trajectory stops early when the loss or
    /// gradient becomes non-finite; non-finite losses never count as a decrease.
    /// - Throws: ``ProbeError`` for a radius or learning rate that is not finite and positive, negative
    ///   steps, fewer than one probe, a gradient of the wrong length; any error the closures throw.
    public static func run(
        loss: ([Double]) throws -> Double, gradient: ([Double]) throws -> [Double],
        theta: [Double], radius: Double, steps: Int, learningRate: Double, probes: Int,
        seed: UInt64
    ) throws -> Result {
        guard radius.isFinite, radius > 0 else {
            throw ProbeError.invalidSetting(name: "radius", value: radius, requirement: "finite and positive")
        }
        guard learningRate.isFinite, learningRate > 0 else {
            throw ProbeError.invalidSetting(
                name: "learningRate", value: learningRate,
                requirement: "finite and positive")
        }
        guard steps >= 0 else {
            throw ProbeError.invalidSetting(name: "steps", value: Double(steps), requirement: "at least 0")
        }
        guard probes >= 1 else {
            throw ProbeError.invalidSetting(name: "probes", value: Double(probes), requirement: "at least 1")
        }
        let n = theta.count
        let base = try loss(theta)
        var random = SeededRandom(seed: seed)
        var decreases: [Double] = []
        decreases.reserveCapacity(probes)

        for _ in 0..<probes {
            var point = theta
            if n > 0 {
                var xi = (0..<n).map { _ in random.gaussian() }
                let norm = xi.reduce(0) { $0 + $1 * $1 }.squareRoot()
                let scale = norm > 0 ? radius * Elementary.pow(random.uniform(), 1 / Double(n)) / norm : 0
                for i in 0..<n { xi[i] *= scale }
                for i in 0..<n { point[i] += xi[i] }
            }
            var best = -Double.infinity
            var value = try loss(point)
            for step in 0...steps {
                guard value.isFinite else { break }
                best = Swift.max(best, base - value)
                if step == steps { break }
                let g = try gradient(point)
                guard g.count == n else { throw ProbeError.dimensionMismatch(expected: n, got: g.count, what: "gradient") }
                guard g.allSatisfy(\.isFinite) else { break }
                for i in 0..<n { point[i] -= learningRate * g[i] }
                value = try loss(point)
            }
            decreases.append(best)
        }
        return Result(
            baseLoss: base, decreases: decreases, bestDecrease: decreases.max() ?? -.infinity,
            probes: probes, radius: radius, steps: steps, learningRate: learningRate, seed: seed)
    }
}
