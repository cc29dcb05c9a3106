import Foundation

/// A minimal `.npy` reader for the scenario files only: little-endian `<f8` or `<i8`, C order.
enum NumpyTestReader {
    struct Array: Equatable {
        var shape: [Int]
        var values: [Double]
    }

    enum Failure: Error { case malformed(String) }

    static func read(_ url: URL) throws -> Array {
        let bytes = [UInt8](try Data(contentsOf: url))
        guard bytes.count > 10, bytes[0] == 0x93, String(decoding: bytes[1..<6], as: UTF8.self) == "NUMPY" else {
            throw Failure.malformed("not an npy file: \(url.path)")
        }
        let major = bytes[6]
        let headerLength: Int, headerStart: Int
        if major == 1 {
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        } else {
            headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
            headerStart = 12
        }
        let header = String(decoding: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        guard header.contains("'fortran_order': False") else { throw Failure.malformed("Fortran order in \(url.path)") }
        let isFloat = header.contains("'<f8'")
        guard isFloat || header.contains("'<i8'") else { throw Failure.malformed("dtype in \(url.path): \(header)") }
        guard let open = header.firstIndex(of: "("), let close = header.firstIndex(of: ")") else {
            throw Failure.malformed("shape in \(url.path)")
        }
        let shape = header[header.index(after: open)..<close].split(separator: ",")
            .compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let count = shape.reduce(1, *)
        let start = headerStart + headerLength
        guard bytes.count == start + 8 * count else { throw Failure.malformed("size of \(url.path)") }
        let values = (0..<count).map { i -> Double in
            let bits = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[start + 8 * i + $1]) << (8 * UInt64($1)) }
            return isFloat ? Double(bitPattern: bits) : Double(Int64(bitPattern: bits))
        }
        return Array(shape: shape, values: values)
    }
}
