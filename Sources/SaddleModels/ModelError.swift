import SaddleJSON

/// Why a model could not be built, evaluated, loaded or saved. Messages say what to fix.
public enum ModelError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The spec is malformed; the shape error names the field.
    case spec(JSONShapeError)
    /// A parameter vector, direction or batch does not fit the model.
    case shapeMismatch(String)
    /// A weights file does not match the model: missing, unexpected or mis-shaped tensors.
    case weightsMismatch(String)
    /// A safetensors file is malformed (header, offsets, dtype, truncation).
    case safetensors(String)
    /// A file could not be read or written.
    case io(String)

    public var description: String {
        switch self {
        case .spec(let error): error.description
        case .shapeMismatch(let m), .weightsMismatch(let m), .safetensors(let m), .io(let m): m
        }
    }
}
