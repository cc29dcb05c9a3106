/// Why bytes could not be parsed, or a value could not be serialized.
public enum JSONError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The bytes are not valid JSON (includes invalid UTF-8 and duplicate object keys).
    case syntax(message: String, line: Int, column: Int, position: Int)
    /// Nesting deeper than the configured bound.
    case tooDeep(limit: Int)
    /// A NaN or infinity where a JSON number was to be written; `path` says where.
    case nonFinite(path: String)
    /// libjansson failed to allocate or encode.
    case encoding(String)

    public var description: String {
        switch self {
        case .syntax(let message, let line, let column, let position):
            return "invalid JSON at line \(line), column \(column) (byte \(position)): \(message)"
        case .tooDeep(let limit):
            return "JSON nesting exceeds the limit of \(limit) levels"
        case .nonFinite(let path):
            return "cannot write a non-finite number as JSON at \(path); send it as \"NaN\", \"Infinity\" or \"-Infinity\""
        case .encoding(let message):
            return "JSON encoding failed: \(message)"
        }
    }
}
