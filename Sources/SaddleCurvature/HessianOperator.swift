import SaddleModels

/// The Hessian (or Gauss–Newton matrix) of a model's mean loss on a set of samples at fixed
/// parameters, as the ``SymmetricOperator`` every curvature algorithm takes. Products are exact
/// (Pearlmutter's R-operator through ``Objective``), never finite differences.
public final class HessianOperator: SymmetricOperator {
    /// Which curvature matrix the operator applies.
    public enum Kind: String, Sendable, CaseIterable {
        /// The true Hessian: indefinite, so it can reveal a saddle.
        case hessian
        /// The Gauss–Newton matrix: positive semidefinite, so it cannot.
        case gaussNewton
    }

    public let objective: Objective
    public let parameters: [Double]
    public let kind: Kind

    public init(objective: Objective, parameters: [Double], kind: Kind = .hessian) {
        self.objective = objective
        self.parameters = parameters
        self.kind = kind
    }

    public var dimension: Int { objective.parameterCount }

    public func apply(_ v: [Double]) throws -> [Double] {
        switch kind {
        case .hessian: return try objective.hessianVectorProduct(parameters, v)
        case .gaussNewton: return try objective.gaussNewtonVectorProduct(parameters, v)
        }
    }
}
