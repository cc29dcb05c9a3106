/// Errors of the curvature algorithms; each message says what went wrong and what to change.
public enum CurvatureError: Error, Sendable, Equatable, CustomStringConvertible {
    /// An argument is out of its domain (the message names it and the accepted values).
    case invalidArgument(String)
    /// A vector had the wrong length.
    case dimensionMismatch(expected: Int, got: Int)
    /// The operator returned NaN or ±∞ in product number `product` (1-based) at entry `index`.
    case nonFiniteProduct(algorithm: String, product: Int, index: Int, value: Double)
    /// LAPACK failed on the small tridiagonal problem.
    case eigensolverFailed(String)

    public var description: String {
        switch self {
        case .invalidArgument(let message): return message
        case .dimensionMismatch(let expected, let got):
            return "vector has length \(got) but the operator has dimension \(expected)"
        case .nonFiniteProduct(let algorithm, let product, let index, let value):
            return "\(algorithm): operator product \(product) returned \(value) at entry \(index); "
                + "the curvature is not finite at this point (check the parameters and the loss for NaN or overflow)"
        case .eigensolverFailed(let message): return "tridiagonal eigensolver failed: \(message)"
        }
    }
}
