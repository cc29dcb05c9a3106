/// The spread of a curvature estimate across disjoint data subsets: run the same estimator on S
/// operators (one per subset, e.g. the Hessian of the loss on each of S disjoint batches) and
/// report how much the value moves.
public enum SubsetUncertainty {
    public struct Result: Sendable {
        /// Mean of the subset values.
        public var mean: Double
        /// Sample standard deviation (1/(S − 1)) of the subset values.
        public var standardDeviation: Double
        /// standardDeviation / √S: the uncertainty of `mean`.
        public var standardError: Double
        /// Each subset's value, in the order given.
        public var values: [Double]
        /// Samples (data points) behind each subset's operator, as the caller stated them.
        public var samplesPerSubset: [Int]
        /// Σ samplesPerSubset.
        public var totalSamples: Int
        public var subsets: Int
    }

    /// Calls `estimator` on each operator with a control whose progress is one share per subset.
    ///
    /// - Parameters:
    ///   - operators: S ≥ 2 operators, one per disjoint subset.
    ///   - samplesPerSubset: S counts (≥ 1) of the samples each operator was built from.
    ///   - estimator: the scalar to compare (e.g. `{ try Lanczos.eigen($0, control: $1).largest[0] }`).
    /// - Throws: ``CurvatureError/invalidArgument(_:)`` for fewer than 2 subsets, mismatched counts or a
    ///   non-finite value; whatever the estimator or `checkCancelled` throws.
    public static func estimate<Op: SymmetricOperator>(
        operators: [Op], samplesPerSubset: [Int], control: CurvatureControl = .none,
        estimator: (Op, CurvatureControl) throws -> Double
    ) throws -> Result {
        guard operators.count >= 2 else {
            throw CurvatureError.invalidArgument("a spread needs at least 2 subsets, got \(operators.count)")
        }
        guard samplesPerSubset.count == operators.count else {
            throw CurvatureError.invalidArgument(
                "`samplesPerSubset` has \(samplesPerSubset.count) counts for \(operators.count) subsets")
        }
        if let bad = samplesPerSubset.first(where: { $0 < 1 }) {
            throw CurvatureError.invalidArgument("every subset needs at least 1 sample, got \(bad)")
        }
        var values: [Double] = []
        for (i, op) in operators.enumerated() {
            try control.checkCancelled()
            let value = try estimator(op, control.share(i, of: operators.count, label: "subset \(i + 1) of \(operators.count)"))
            guard value.isFinite else { throw CurvatureError.invalidArgument("subset \(i)'s estimate is \(value), not finite") }
            values.append(value)
        }
        let s = Double(values.count)
        let mean = values.reduce(0, +) / s
        let std = (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (s - 1)).squareRoot()
        return Result(
            mean: mean, standardDeviation: std, standardError: std / s.squareRoot(), values: values,
            samplesPerSubset: samplesPerSubset, totalSamples: samplesPerSubset.reduce(0, +), subsets: values.count)
    }
}
