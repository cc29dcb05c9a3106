import Foundation
import SaddleJSON
import XCTest

/// Finds and reads the ground-truth scenarios (see shared/scenarios/README.md).
enum ScenarioFiles {
    /// The scenarios folder: `$SADDLE_SCENARIOS`, else `shared/scenarios` or `scenarios` above this file's
    /// repository root, else `/work/shared/scenarios`.
    static func directory() throws -> URL {
        var candidates: [URL] = []
        if let env = ProcessInfo.processInfo.environment["SADDLE_SCENARIOS"] {
            candidates.append(URL(fileURLWithPath: env))
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        candidates += [root.appendingPathComponent("shared/scenarios"), root.appendingPathComponent("scenarios"),
                       URL(fileURLWithPath: "/work/shared/scenarios")]
        for url in candidates where FileManager.default.fileExists(atPath: url.appendingPathComponent("README.md").path) {
            return url
        }
        throw XCTSkip("ground-truth scenarios not found (set SADDLE_SCENARIOS)")
    }

    static func expected(_ name: String) throws -> JSON {
        let data = try Data(contentsOf: try directory().appendingPathComponent(name).appendingPathComponent("expected.json"))
        return try JSON.parse([UInt8](data))
    }

    /// A little-endian float64, C-order `.npy` array: (values, shape).
    static func npy(_ scenario: String, _ file: String) throws -> ([Double], [Int]) {
        let bytes = [UInt8](try Data(contentsOf: try directory().appendingPathComponent(scenario)
            .appendingPathComponent(file)))
        guard bytes.count > 10, bytes[0] == 0x93, bytes[1...5].elementsEqual("NUMPY".utf8) else {
            throw NpyError.malformed("not an npy file")
        }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        if major == 1 {
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        } else {
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        }
        let header = String(decoding: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        guard header.contains("'<f8'"), header.contains("'fortran_order': False"),
              let open = header.range(of: "'shape': ("), let close = header[open.upperBound...].firstIndex(of: ")")
        else { throw NpyError.malformed("need little-endian float64 in C order: \(header)") }
        let shape = header[open.upperBound..<close].split(separator: ",").compactMap {
            Int($0.trimmingCharacters(in: .whitespaces))
        }
        let count = shape.reduce(1, *)
        let start = headerStart + headerLength
        guard bytes.count >= start + 8 * count else { throw NpyError.malformed("truncated data") }
        var values = [Double](repeating: 0, count: count)
        for i in 0..<count {
            var bits: UInt64 = 0
            for b in 0..<8 { bits |= UInt64(bytes[start + 8 * i + b]) << (8 * UInt64(b)) }
            values[i] = Double(bitPattern: bits)
        }
        return (values, shape)
    }

    enum NpyError: Error { case malformed(String) }
}
