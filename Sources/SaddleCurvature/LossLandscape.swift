import SaddleMath

/// Loss-landscape slices: the loss on a line or a plane through θ, L(θ + α·d₁ + β·d₂), on a grid
/// (Li, Xu, Taylor, Studer & Goldstein 2018, "Visualizing the Loss Landscape of Neural Nets").
public enum LossLandscape {
    /// Evenly spaced values from `lower` to `upper` inclusive (`points` ≥ 2, or 1 giving `lower`).
    public struct Axis: Sendable, Equatable {
        public var lower: Double
        public var upper: Double
        public var points: Int

        public init(lower: Double, upper: Double, points: Int) {
            self.lower = lower
            self.upper = upper
            self.points = points
        }

        public var values: [Double] {
            points == 1 ? [lower] : (0..<points).map { lower + (upper - lower) * Double($0) / Double(points - 1) }
        }

        func validate(_ name: String) throws {
            guard points >= 1, points <= 10_000, lower.isFinite, upper.isFinite, lower <= upper else {
                throw CurvatureError.invalidArgument(
                    "`\(name)` must have finite lower ≤ upper and 1...10000 points, got \(lower)...\(upper) with \(points) points"
                )
            }
        }
    }

    public struct Slice1D: Sendable {
        public var alphas: [Double]
        /// losses[i] = L(θ + alphas[i]·d). Non-finite losses are kept (a diverging region), not thrown.
        public var losses: [Double]
        /// L(θ).
        public var centerLoss: Double
    }

    public struct Slice2D: Sendable {
        public var alphas: [Double]
        public var betas: [Double]
        /// losses[i][j] = L(θ + alphas[i]·d₁ + betas[j]·d₂). Non-finite losses are kept.
        public var losses: [[Double]]
        public var centerLoss: Double
    }

    /// L(θ + α·d) for α on `axis`. Directions are used as given: an eigenvector from Lanczos has unit
    /// norm, so α is the distance moved in parameter space.
    ///
    /// - Throws: ``CurvatureError`` for mismatched lengths, a non-finite θ or direction, or a bad axis;
    ///   whatever `loss` or `checkCancelled` (called before each evaluation) throws.
    public static func slice1D(
        loss: ([Double]) throws -> Double, theta: [Double], direction: [Double], axis: Axis,
        control: CurvatureControl = .none
    ) throws -> Slice1D {
        try validate(theta: theta, directions: [direction])
        try axis.validate("axis")
        try control.checkCancelled()
        let center = try loss(theta)
        let alphas = axis.values
        var losses: [Double] = []
        for (i, a) in alphas.enumerated() {
            try control.checkCancelled()
            var p = theta
            Vector.axpy(a, direction, &p)
            losses.append(try loss(p))
            control.progress(Double(i + 1) / Double(alphas.count), "landscape point \(i + 1) of \(alphas.count)")
        }
        return Slice1D(alphas: alphas, losses: losses, centerLoss: center)
    }

    /// L(θ + α·d₁ + β·d₂) for α on `xAxis`, β on `yAxis`; directions used as given.
    public static func slice2D(
        loss: ([Double]) throws -> Double, theta: [Double], directions: ([Double], [Double]), xAxis: Axis, yAxis: Axis,
        control: CurvatureControl = .none
    ) throws -> Slice2D {
        try validate(theta: theta, directions: [directions.0, directions.1])
        try xAxis.validate("xAxis")
        try yAxis.validate("yAxis")
        try control.checkCancelled()
        let center = try loss(theta)
        let alphas = xAxis.values, betas = yAxis.values
        let total = Double(alphas.count * betas.count)
        var losses: [[Double]] = []
        for a in alphas {
            var row: [Double] = []
            var base = theta
            Vector.axpy(a, directions.0, &base)
            for b in betas {
                try control.checkCancelled()
                var p = base
                Vector.axpy(b, directions.1, &p)
                row.append(try loss(p))
                let done = Double(losses.count * betas.count + row.count)
                control.progress(done / total, "landscape point \(Int(done)) of \(Int(total))")
            }
            losses.append(row)
        }
        return Slice2D(alphas: alphas, betas: betas, losses: losses, centerLoss: center)
    }

    /// A filter-normalized random direction (Li et al. 2018): a standard Gaussian vector whose entries
    /// in each filter range r (one row of a weight matrix: the weights into one output unit) are
    /// rescaled so that ‖d[r]‖ = ‖θ[r]‖. Entries outside every filter — biases and other 1-D
    /// parameters — are set to 0, as Li et al. do by default ("ignore biasbn"): their scale is not
    /// comparable to a filter's, and leaving them out keeps the slice about the weights.
    /// A filter whose θ is all zero gets a zero direction.
    ///
    /// - Throws: ``CurvatureError/invalidArgument(_:)`` for an empty or out-of-range filter, overlapping
    ///   filters, or a non-finite θ.
    public static func filterNormalizedDirection(theta: [Double], filters: [Range<Int>], seed: UInt64) throws -> [Double] {
        if let j = Vec.firstNonFinite(theta) { throw CurvatureError.invalidArgument("θ has \(theta[j]) at entry \(j)") }
        let sorted = filters.sorted { $0.lowerBound < $1.lowerBound }
        for (i, r) in sorted.enumerated() {
            guard !r.isEmpty, r.lowerBound >= 0, r.upperBound <= theta.count else {
                throw CurvatureError.invalidArgument(
                    "filter \(r.lowerBound)..<\(r.upperBound) must be non-empty and inside 0..<\(theta.count)")
            }
            if i > 0, sorted[i - 1].upperBound > r.lowerBound {
                throw CurvatureError.invalidArgument(
                    "filters \(sorted[i - 1].lowerBound)..<\(sorted[i - 1].upperBound) and \(r.lowerBound)..<\(r.upperBound) overlap"
                )
            }
        }
        var rng = SeededRandom(seed: seed)
        var d = [Double](repeating: 0, count: theta.count)
        for r in filters {
            var piece = (0..<r.count).map { _ in rng.gaussian() }
            let pn = Vector.norm(piece), tn = Vector.norm(Array(theta[r]))
            Vector.scale(&piece, by: pn > 0 ? tn / pn : 0)
            d.replaceSubrange(r, with: piece)
        }
        return d
    }

    /// The filters of a row-major `rows × columns` weight matrix stored at `offset` in the parameter
    /// vector: one range per row (per output unit).
    public static func rowFilters(offset: Int, rows: Int, columns: Int) -> [Range<Int>] {
        (0..<max(rows, 0)).map { (offset + $0 * columns)..<(offset + ($0 + 1) * columns) }
    }

    static func validate(theta: [Double], directions: [[Double]]) throws {
        guard !theta.isEmpty else { throw CurvatureError.invalidArgument("θ must not be empty") }
        if let j = Vec.firstNonFinite(theta) { throw CurvatureError.invalidArgument("θ has \(theta[j]) at entry \(j)") }
        for (i, d) in directions.enumerated() {
            guard d.count == theta.count else {
                throw CurvatureError.invalidArgument("direction \(i + 1) has \(d.count) entries, θ has \(theta.count)")
            }
            if let j = Vec.firstNonFinite(d) {
                throw CurvatureError.invalidArgument("direction \(i + 1) has \(d[j]) at entry \(j)")
            }
        }
    }
}
