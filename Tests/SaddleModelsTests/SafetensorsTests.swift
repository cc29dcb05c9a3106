import Foundation
import SaddleModels
import XCTest

/// Safetensors round trips and every validation path.
final class SafetensorsTests: XCTestCase {
    let spec = Fixture.spec(input: 3, [Fixture.dense(4, .tanh), Fixture.dense(2)], loss: .mse)

    func message(_ body: () throws -> Void) -> String {
        do {
            try body()
            return "no error"
        } catch { return "\(error)" }
    }

    func testRoundTripF64IsExactAndF32RoundsToFloat() throws {
        let model = Model(spec: spec)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("saddle-\(UUID()).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try model.saveWeights(to: path, dtype: .f64)
        var copy = try Model(spec: spec, parameters: [Double](repeating: 0, count: model.parameterCount))
        try copy.loadWeights(safetensorsAt: path)
        XCTAssertEqual(copy.parameters, model.parameters)

        let file = try Safetensors(bytes: try model.weightsBytes(dtype: .f32))
        XCTAssertEqual(file.tensors["0.weight"]?.dtype, .f32)
        XCTAssertEqual(file.tensors["0.weight"]?.shape, [4, 3])
        XCTAssertEqual(file.metadata["format"], "pt")
        try copy.loadWeights(from: file)
        XCTAssertEqual(copy.parameters, model.parameters.map { Double(Float($0)) })
    }

    func testHalfAndBFloatDecode() throws {
        // F16: 0x3C00 = 1, 0xC000 = −2, 0x0001 = 2⁻²⁴; BF16: 0x3F80 = 1, 0x4040 = 3.
        func file(_ dtype: String, _ bits: [UInt16]) -> [UInt8] {
            var header = Array(
                #"{"t":{"dtype":"\#(dtype)","shape":[\#(bits.count)],"data_offsets":[0,\#(2 * bits.count)]}}"#.utf8)
            while header.count % 8 != 0 { header.append(0x20) }
            var bytes = withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) } + header
            for b in bits { bytes += [UInt8(b & 0xFF), UInt8(b >> 8)] }
            return bytes
        }
        XCTAssertEqual(
            try Safetensors(bytes: file("F16", [0x3C00, 0xC000, 0x0001, 0x7C00])).doubles("t"),
            [1, -2, 0x1p-24, .infinity])
        XCTAssertEqual(try Safetensors(bytes: file("BF16", [0x3F80, 0x4040])).doubles("t"), [1, 3])
    }

    func testMalformedFilesGiveClearErrors() throws {
        let good = try Model(spec: spec).weightsBytes()
        XCTAssertEqual(
            message { _ = try Safetensors(bytes: [1, 2]) },
            "the file is 2 bytes long, too short for the 8-byte header length")
        var huge = good
        huge[7] = 0x7F
        XCTAssertTrue(message { _ = try Safetensors(bytes: huge) }.contains("exceeds the limit"))
        XCTAssertTrue(message { _ = try Safetensors(bytes: Array(good.prefix(40))) }.contains("truncated"))
        XCTAssertTrue(message { _ = try Safetensors(bytes: Array(good.dropLast(8))) }.contains("outside the"))
        func withHeader(_ json: String, data: Int) -> [UInt8] {
            let header = Array(json.utf8)
            return withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) } + header
                + [UInt8](repeating: 0, count: data)
        }
        XCTAssertEqual(
            message {
                _ = try Safetensors(bytes: withHeader(#"{"a":{"dtype":"F64","shape":[2],"data_offsets":[0,8]}}"#, data: 16))
            },
            "tensor `a` spans 8 bytes but shape [2] of F64 needs 16")
        XCTAssertEqual(
            message {
                _ = try Safetensors(bytes: withHeader(#"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}"#, data: 2))
            },
            "tensor `a` has dtype U8; supported: F16, BF16, F32, F64, I64")
        XCTAssertTrue(
            message {
                _ = try Safetensors(
                    bytes: withHeader(
                        #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
                        data: 12))
            }.contains("overlap"))
        XCTAssertTrue(message { _ = try Safetensors(bytes: withHeader("[1]", data: 0)) }.contains("must be a JSON object"))
        XCTAssertTrue(message { _ = try Safetensors(bytes: withHeader("{not json", data: 0)) }.contains("not valid JSON"))
        XCTAssertTrue(
            message { _ = try Safetensors(contentsOf: "/nonexistent/w.safetensors") }.hasPrefix(
                "weights file /nonexistent/w.safetensors does not exist"))
    }

    func testWeightsMismatchListsEveryProblem() throws {
        let other = Model(spec: Fixture.spec(input: 3, [Fixture.dense(5, .tanh), Fixture.dense(2, bias: false)], loss: .mse))
        var model = Model(spec: spec)
        let before = model.parameters
        XCTAssertEqual(
            message { try model.loadWeights(from: try Safetensors(bytes: try other.weightsBytes())) },
            "the weights do not match the model: missing: 2.bias; mis-shaped: 0.weight has shape [5, 3], expected [4, 3]; 0.bias has shape [5], expected [4]; 2.weight has shape [2, 5], expected [2, 4]"
        )
        XCTAssertEqual(model.parameters, before, "unchanged on error")
        let extra = try Safetensors.encode(
            [
                ("0.weight", [4, 3], [Double](repeating: 0, count: 12)), ("0.bias", [4], [0, 0, 0, 0]),
                ("2.weight", [2, 4], [Double](repeating: 0, count: 8)), ("2.bias", [2], [0, 0]),
                ("9.weight", [1], [0]),
            ], dtype: .f32)
        XCTAssertEqual(
            message { try model.loadWeights(from: try Safetensors(bytes: extra)) },
            "the weights do not match the model: unexpected: 9.weight")
    }
}
