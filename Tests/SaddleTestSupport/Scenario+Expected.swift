import SaddleJSON

/// Eigenvalue counts of a scenario's dense Hessian (numpy's, with its zero threshold).
public struct EigenvalueCountsReference: Sendable, Equatable {
    public let negative: Int
    public let zero: Int
    public let positive: Int
}

/// Typed reads of expected.json. Each throws a `JSONShapeError` naming the key (e.g.
/// "`expected.loss` …") when it is absent or of the wrong type, so a test that needs it fails.
extension Scenario {
    private var reader: JSONReader { JSONReader(expected, path: "\(name)/expected") }

    /// The full-batch loss at the scenario's weights.
    public var loss: Double { get throws { try reader["loss"].double() } }
    /// ‖∇L‖₂.
    public var gradNorm: Double { get throws { try reader["grad_norm"].double() } }
    /// The five largest Hessian eigenvalues, largest first (fewer for models with fewer parameters).
    public var hessianTop5: [Double] { get throws { try reader["hessian_top5"].doubles() } }
    /// The five smallest Hessian eigenvalues, smallest first.
    public var hessianBottom5: [Double] { get throws { try reader["hessian_bottom5"].doubles() } }
    /// The trace of the dense Hessian.
    public var hessianTrace: Double { get throws { try reader["hessian_trace"].double() } }
    /// The verdict a correct diagnosis gives, as `Verdict`'s raw value ("saddle", "localMinimum", …).
    public var expectedVerdict: String { get throws { try reader["expected_verdict"].string(nonEmpty: true) } }
    /// The number of parameters (`n_params`).
    public var parameterCount: Int { get throws { try reader["n_params"].int(min: 1) } }
    /// Counts of negative, zero and positive Hessian eigenvalues.
    public var eigenvalueCounts: EigenvalueCountsReference {
        get throws {
            EigenvalueCountsReference(
                negative: try reader["n_negative_eigenvalues"].int(min: 0), zero: try reader["n_zero_eigenvalues"].int(min: 0),
                positive: try reader["n_positive_eigenvalues"].int(min: 0))
        }
    }
}
