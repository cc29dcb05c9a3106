/// The loss along ± a direction (normally the eigenvector of λ_min): does a step of negative curvature
/// lower the loss, and how far should one step? Pure: it only calls `loss`.
public enum EscapeProbe {
    /// What the probe saw. Decreases are `baseLoss − loss`, so positive means descent.
    public struct Result: Sendable, Equatable {
        /// f(θ).
        public var baseLoss: Double
        /// The step sizes t probed, as given (distances along the unit direction).
        public var stepSizes: [Double]
        /// f(θ + t·d̂) for each step size.
        public var lossPlus: [Double]
        /// f(θ − t·d̂) for each step size.
        public var lossMinus: [Double]
        /// The largest f(θ) − f(θ ± t·d̂) over finite losses; ≤ 0 when no step lowered the loss;
        /// −∞ when no probed loss was finite.
        public var bestDecrease: Double
        /// The signed step (+t or −t along d̂) achieving ``bestDecrease``; 0 when no probed loss was finite.
        public var bestStep: Double

        public init(
            baseLoss: Double, stepSizes: [Double], lossPlus: [Double], lossMinus: [Double],
            bestDecrease: Double, bestStep: Double
        ) {
            self.baseLoss = baseLoss
            self.stepSizes = stepSizes
            self.lossPlus = lossPlus
            self.lossMinus = lossMinus
            self.bestDecrease = bestDecrease
            self.bestStep = bestStep
        }
    }

    /// Evaluates f(θ) and f(θ ± t·d̂) for each t, with d̂ = direction/‖direction‖.
    ///
    /// NaN and infinite losses are recorded as they are but never count as a decrease. Ties keep the
    /// first (smallest |t|, + before −), so the result is deterministic.
    /// - Throws: ``ProbeError`` for mismatched lengths, a zero or non-finite direction, or a step size
    ///   that is not finite and positive; any error `loss` throws.
    public static func run(
        loss: ([Double]) throws -> Double, theta: [Double], direction: [Double],
        stepSizes: [Double]
    ) throws -> Result {
        guard direction.count == theta.count else {
            throw ProbeError.dimensionMismatch(expected: theta.count, got: direction.count, what: "direction")
        }
        for t in stepSizes where !(t.isFinite && t > 0) {
            throw ProbeError.invalidSetting(name: "stepSizes", value: t, requirement: "finite and positive")
        }
        let norm = direction.reduce(0) { $0 + $1 * $1 }.squareRoot()
        guard norm.isFinite, norm > 0 else { throw ProbeError.degenerateDirection }
        let unit = direction.map { $0 / norm }
        let base = try loss(theta)

        var plus: [Double] = []
        var minus: [Double] = []
        var bestDecrease = -Double.infinity
        var bestStep = 0.0
        for t in stepSizes {
            for sign in [1.0, -1.0] {
                var point = theta
                for i in point.indices { point[i] += sign * t * unit[i] }
                let value = try loss(point)
                if sign > 0 { plus.append(value) } else { minus.append(value) }
                let decrease = base - value
                if value.isFinite, decrease > bestDecrease {
                    bestDecrease = decrease
                    bestStep = sign * t
                }
            }
        }
        return Result(
            baseLoss: base, stepSizes: stepSizes, lossPlus: plus, lossMinus: minus,
            bestDecrease: bestDecrease, bestStep: bestStep)
    }
}
