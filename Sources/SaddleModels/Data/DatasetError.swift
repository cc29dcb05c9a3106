/// Why a data set could not be loaded or generated. The message says which file, which row and
/// column, which value, and what to fix; `kind` lets the server pick an error code.
public struct DatasetError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        /// The file does not exist or cannot be opened.
        case fileNotFound
        /// The file (or its decompressed content) is larger than the `maxBytes` limit.
        case tooLarge
        /// The file ends before the data its header promises.
        case truncated
        /// The bytes are not in the expected format (bad magic, malformed header, unparsable field).
        case badFormat
        /// An element type this loader does not accept (e.g. `<f2`, big-endian, fortran order).
        case unsupportedType
        /// Shapes disagree (row counts of inputs and targets, ragged CSV rows, …).
        case shapeMismatch
        /// A NaN or infinity in the data.
        case nonFinite
        /// A class label that is negative, not an integer, or out of range.
        case badLabel
        /// Generator or loader parameters that are invalid.
        case invalidParameters
    }

    public let kind: Kind
    /// The file concerned, when there is one.
    public let file: String?
    /// A complete sentence naming the file, the place, the value and the fix.
    public let message: String

    public init(_ kind: Kind, file: String? = nil, _ message: String) {
        self.kind = kind
        self.file = file
        self.message = message
    }

    public var description: String { message }
}
