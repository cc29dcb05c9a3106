/// Invalid input to a probe. Messages say what to fix.
public enum ProbeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `direction` (or a gradient) has a different length than `theta`.
    case dimensionMismatch(expected: Int, got: Int, what: String)
    /// The direction has zero or non-finite norm, so it names no direction.
    case degenerateDirection
    /// A numeric setting is out of range (`name` says which).
    case invalidSetting(name: String, value: Double, requirement: String)

    public var description: String {
        switch self {
        case .dimensionMismatch(let expected, let got, let what):
            return "\(what) must have \(expected) entries (one per parameter), got \(got)"
        case .degenerateDirection:
            return "direction must have a finite, non-zero norm"
        case .invalidSetting(let name, let value, let requirement):
            return "\(name) must be \(requirement), got \(value)"
        }
    }
}
