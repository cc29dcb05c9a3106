/// A numeric array read from a NumPy `.npy` file.
public struct NPYArray: Sendable, Equatable {
    /// The element types Saddle reads: little-endian floats and signed integers.
    public enum Element: String, Sendable, Equatable, CaseIterable {
        case float32 = "<f4", float64 = "<f8", int32 = "<i4", int64 = "<i8"
        var byteCount: Int { self == .float32 || self == .int32 ? 4 : 8 }
        var isInteger: Bool { self == .int32 || self == .int64 }
    }

    /// The values, widened without loss: floats to `Double`, integers to `Int64`.
    public enum Values: Sendable, Equatable {
        case floating([Double])
        case integer([Int64])
    }

    /// Extents, outermost first (`[]` for a 0-d array).
    public let shape: [Int]
    /// The element type as stored in the file.
    public let element: Element
    /// Row-major (C order) values.
    public let values: Values

    /// The values as doubles (integers beyond 2⁵³ round to the nearest double).
    public var doubles: [Double] {
        switch values {
        case .floating(let v): return v
        case .integer(let v): return v.map { Double($0) }
        }
    }

    public var count: Int { shape.reduce(1, *) }
}

/// Reads NumPy `.npy` files (format versions 1.0, 2.0 and 3.0).
///
/// The header is a Python dict literal (`{'descr': '<f8', 'fortran_order': False, 'shape': (16, 1), }`),
/// parsed here by a small literal parser rather than as JSON. Accepted: dtypes `<f4`, `<f8`, `<i4`,
/// `<i8` (`=` counts as `<` on this little-endian machine), C order. Big-endian data, Fortran order,
/// structured and other dtypes are refused with a message saying how to re-save the array.
public enum NPY {
    /// Reads and parses `path`, refusing files over `maxBytes`.
    public static func read(path: String, maxBytes: Int) throws(DatasetError) -> NPYArray {
        let bytes = try FileBytes.read(path, maxBytes: maxBytes, what: ".npy file")
        return try parse(bytes, file: path)
    }

    /// Parses the bytes of a `.npy` file; `file` names it in errors.
    public static func parse(_ bytes: [UInt8], file: String) throws(DatasetError) -> NPYArray {
        func fail(_ kind: DatasetError.Kind, _ message: String) -> DatasetError {
            DatasetError(kind, file: file, "\(file): \(message)")
        }
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY
        guard bytes.count >= 10 else {
            if bytes.starts(with: magic.prefix(min(bytes.count, 6))) && !bytes.isEmpty {
                throw fail(
                    .truncated,
                    "file ends after \(bytes.count) bytes, inside the .npy preamble; the file is truncated, save it again")
            }
            throw fail(
                .badFormat,
                "not a .npy file (\(bytes.count) bytes, too short for the \\x93NUMPY preamble); save arrays with numpy.save")
        }
        guard bytes.starts(with: magic) else {
            throw fail(
                .badFormat,
                "not a .npy file: it does not start with \\x93NUMPY; save arrays with numpy.save (not savez, pickle or text)")
        }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes.loadLE(UInt16.self, at: 8))
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw fail(.truncated, "file ends inside the .npy preamble; the file is truncated") }
            headerLength = Int(bytes.loadLE(UInt32.self, at: 8))
            headerStart = 12
        default:
            throw fail(
                .badFormat,
                ".npy format version \(major).\(bytes[7]) is not supported (only 1.0, 2.0, 3.0); save with a current numpy")
        }
        let dataStart = headerStart + headerLength
        guard dataStart <= bytes.count else {
            throw fail(
                .truncated,
                "header claims \(headerLength) bytes but the file ends after \(bytes.count - headerStart); the file is truncated")
        }
        guard let headerText = String(validating: bytes[headerStart..<dataStart], as: UTF8.self) else {
            throw fail(.badFormat, "the .npy header is not valid text")
        }
        let header: [String: PyLiteral]
        do throws(PyLiteralParser.Failure) {
            var parser = PyLiteralParser(Array(headerText.utf8))
            guard case .dict(let d) = try parser.parseValue() else { throw PyLiteralParser.Failure("the header is not a dict") }
            header = d
        } catch {
            throw fail(
                .badFormat,
                "malformed .npy header \(headerText.trimmingTrailingWhitespace()) (\(error.message)); save the array with numpy.save"
            )
        }
        guard case .string(let descr)? = header["descr"] else {
            throw fail(
                .unsupportedType,
                "header has no simple 'descr' string (structured arrays are not supported); save a plain numeric array")
        }
        guard case .bool(let fortran)? = header["fortran_order"] else {
            throw fail(.badFormat, "header has no 'fortran_order' True/False entry")
        }
        guard case .tuple(let dims)? = header["shape"] else {
            throw fail(.badFormat, "header has no 'shape' tuple")
        }
        var shape: [Int] = []
        for dim in dims {
            guard case .int(let d) = dim, d >= 0 else { throw fail(.badFormat, "shape entries must be non-negative integers") }
            shape.append(d)
        }
        if fortran {
            throw fail(
                .unsupportedType,
                "array is stored in Fortran order (fortran_order: True); save it in C order: numpy.save(path, numpy.ascontiguousarray(a))"
            )
        }
        let normalized = descr.hasPrefix("=") ? "<" + descr.dropFirst() : descr
        guard let element = NPYArray.Element(rawValue: normalized) else {
            if descr.hasPrefix(">") {
                throw fail(
                    .unsupportedType,
                    "dtype '\(descr)' is big-endian; convert to little-endian: numpy.save(path, a.astype(a.dtype.newbyteorder('<')))"
                )
            }
            throw fail(
                .unsupportedType,
                "dtype '\(descr)' is not supported; save as float64 ('<f8'), float32 ('<f4'), int64 ('<i8') or int32 ('<i4'), e.g. numpy.save(path, a.astype(numpy.float64))"
            )
        }
        var count = 1
        for d in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow else { throw fail(.badFormat, "shape \(shape) is too large") }
            count = product
        }
        let (needed, overflow) = count.multipliedReportingOverflow(by: element.byteCount)
        guard !overflow else { throw fail(.badFormat, "shape \(shape) is too large") }
        let available = bytes.count - dataStart
        guard available >= needed else {
            throw fail(
                .truncated,
                "shape \(shapeText(shape)) of \(descr) needs \(needed) data bytes but the file has \(available); the file is truncated, save it again"
            )
        }
        let values: NPYArray.Values = bytes.withUnsafeBytes { raw in
            let base = dataStart
            switch element {
            case .float64:
                return .floating(
                    (0..<count).map {
                        Double(
                            bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: base + 8 * $0, as: UInt64.self)))
                    })
            case .float32:
                return .floating(
                    (0..<count).map {
                        Double(
                            Float(
                                bitPattern: UInt32(
                                    littleEndian: raw.loadUnaligned(fromByteOffset: base + 4 * $0, as: UInt32.self))))
                    })
            case .int64:
                return .integer(
                    (0..<count).map { Int64(littleEndian: raw.loadUnaligned(fromByteOffset: base + 8 * $0, as: Int64.self)) })
            case .int32:
                return .integer(
                    (0..<count).map {
                        Int64(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: base + 4 * $0, as: Int32.self)))
                    })
            }
        }
        return NPYArray(shape: shape, element: element, values: values)
    }

    static func shapeText(_ shape: [Int]) -> String {
        shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
    }
}

extension String {
    func trimmingTrailingWhitespace() -> String {
        var s = Substring(self)
        while let last = s.last, last.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}

/// The subset of Python literals that `.npy` headers use.
enum PyLiteral: Equatable {
    case string(String)
    case int(Int)
    case bool(Bool)
    case none
    case tuple([PyLiteral])
    case list([PyLiteral])
    case dict([String: PyLiteral])
}

/// A recursive-descent parser for Python dict/tuple/list/str/int/bool/None literals.
struct PyLiteralParser {
    struct Failure: Error { let message: String; init(_ message: String) { self.message = message } }

    private let text: [UInt8]
    private var position = 0
    private var depth = 0

    init(_ text: [UInt8]) { self.text = text }

    private mutating func skipSpace() {
        while position < text.count,
            text[position] == 0x20 || text[position] == 0x0A || text[position] == 0x09 || text[position] == 0x0D
        {
            position += 1
        }
    }

    private mutating func expect(_ c: UInt8) throws(Failure) {
        skipSpace()
        guard position < text.count, text[position] == c else {
            throw Failure("expected '\(Character(Unicode.Scalar(c)))' at offset \(position)")
        }
        position += 1
    }

    mutating func parseValue() throws(Failure) -> PyLiteral {
        skipSpace()
        guard position < text.count else { throw Failure("unexpected end of header") }
        depth += 1
        defer { depth -= 1 }
        guard depth < 32 else { throw Failure("nesting too deep") }
        let c = text[position]
        switch c {
        case UInt8(ascii: "{"):
            position += 1
            var members: [String: PyLiteral] = [:]
            while true {
                skipSpace()
                if position < text.count, text[position] == UInt8(ascii: "}") { position += 1; break }
                guard case .string(let key) = try parseValue() else { throw Failure("dict keys must be strings") }
                try expect(UInt8(ascii: ":"))
                members[key] = try parseValue()
                skipSpace()
                if position < text.count, text[position] == UInt8(ascii: ",") { position += 1; continue }
                try expect(UInt8(ascii: "}"))
                break
            }
            return .dict(members)
        case UInt8(ascii: "("), UInt8(ascii: "["):
            let close = c == UInt8(ascii: "(") ? UInt8(ascii: ")") : UInt8(ascii: "]")
            position += 1
            var elements: [PyLiteral] = []
            while true {
                skipSpace()
                if position < text.count, text[position] == close { position += 1; break }
                elements.append(try parseValue())
                skipSpace()
                if position < text.count, text[position] == UInt8(ascii: ",") { position += 1; continue }
                try expect(close)
                break
            }
            return c == UInt8(ascii: "(") ? .tuple(elements) : .list(elements)
        case UInt8(ascii: "'"), UInt8(ascii: "\""):
            position += 1
            let start = position
            while position < text.count, text[position] != c {
                if text[position] == UInt8(ascii: "\\") { throw Failure("escapes in strings are not supported") }
                position += 1
            }
            guard position < text.count else { throw Failure("unterminated string") }
            let s = String(decoding: text[start..<position], as: UTF8.self)
            position += 1
            return .string(s)
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"):
            let start = position
            position += 1
            while position < text.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(text[position]) { position += 1 }
            if position < text.count, text[position] == UInt8(ascii: "L") { position += 1 }  // Python 2 long
            let digits = String(decoding: text[start..<position], as: UTF8.self).filter { $0 != "L" }
            guard let value = Int(digits) else { throw Failure("integer \(digits) out of range") }
            return .int(value)
        default:
            for (word, value) in [("True", PyLiteral.bool(true)), ("False", .bool(false)), ("None", .none)] {
                let w = Array(word.utf8)
                if position + w.count <= text.count, Array(text[position..<(position + w.count)]) == w {
                    position += w.count
                    return value
                }
            }
            throw Failure("unexpected character '\(Character(Unicode.Scalar(c)))' at offset \(position)")
        }
    }
}
