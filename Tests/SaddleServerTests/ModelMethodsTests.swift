import Foundation
import XCTest
@testable import SaddleJSON
@testable import SaddleRPC
@testable import SaddleServer
import SaddleTestSupport

final class ModelMethodsTests: XCTestCase {
    private let spec: JSON = [
        "input": 2, "layers": [["kind": "dense", "units": 3, "activation": "tanh"], ["kind": "dense", "units": 1]], "loss": "mse",
        "seed": 3,
    ]

    func testCreateDescribeListDispose() throws {
        let h = ServerHarness()
        let created = try h.call("model/create", ["spec": spec, "name": "tiny"])
        XCTAssertEqual(created["id"], "m1")
        XCTAssertEqual(created["parameterCount"], 13, "2·3 + 3 + 3·1 + 1")
        XCTAssertEqual(created["blocks"]?[2]?["name"], "2.weight", "a dense layer with an activation counts two modules")
        XCTAssertEqual(try h.call("model/describe", ["model": "tiny"])["id"], "m1", "models are found by name too")
        XCTAssertEqual(try h.call("model/list")["models"]?.arrayValue?.count, 1)
        XCTAssertEqual(h.errorCode("model/create", ["spec": spec, "name": "tiny"]), -32602, "names are unique")
        XCTAssertEqual(try h.call("model/dispose", ["model": "m1"])["disposed"], "m1")
        XCTAssertEqual(h.errorCode("model/describe", ["model": "m1"]), -31001)
    }

    func testBadSpecsNameTheField() {
        let h = ServerHarness()
        let answer = h.answer("model/create", ["spec": ["input": 2, "layers": [["kind": "dense", "units": -3]], "loss": "mse"]])
        XCTAssertEqual(answer["error"]?["code"], -32602)
        XCTAssertEqual(answer["error"]?["message"], "`params.spec.layers[0].units` must be a positive integer, got -3")
        XCTAssertEqual(h.errorCode("model/create", ["spec": ["input": 2, "layers": [["kind": "conv"]], "loss": "mse"]]), -32602)
    }

    func testParameterLimitIsRefusedWithItsFlag() {
        var configuration = ServerConfiguration()
        configuration.limits.maxParameters = 10
        let h = ServerHarness(configuration: configuration)
        let answer = h.answer("model/create", ["spec": spec])
        XCTAssertEqual(answer["error"]?["code"], -31002)
        XCTAssertTrue(answer["error"]?["message"]?.stringValue?.contains("--max-parameters") ?? false)
        XCTAssertEqual(answer["error"]?["data"]?["requested"], 13)
    }

    func testSaveThenLoadRoundTripsWeights() throws {
        let h = ServerHarness()
        _ = try h.call("model/create", ["spec": spec])
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("saddle-\(UUID()).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertEqual(try h.call("model/save", ["model": "m1", "path": .string(path)])["dtype"], "F64")
        let loaded = try h.call(
            "model/load",
            [
                "spec": spec.objectValue.map { s in
                    var s = s; s["seed"] = 99; return JSON.object(s)
                } ?? spec,
                "weights": .string(path),
            ])
        XCTAssertEqual(loaded["id"], "m2")
        let a = h.server.workspace.models()[0].model.parameters, b = h.server.workspace.models()[1].model.parameters
        XCTAssertEqual(a, b, "F64 weights round-trip exactly, whatever the seed of the loading spec")
        XCTAssertEqual(h.errorCode("model/load", ["spec": spec, "weights": "/nonexistent.safetensors"]), -31004)
    }

    func testScenarioLoadsLikeAUserWouldAndDatasetsToo() throws {
        let scenario = try Scenario(named: "a1_linear2_origin_saddle")
        let h = ServerHarness()
        let model = try h.call(
            "model/load",
            [
                "spec": scenario.spec.json,
                "weights": .string(scenario.folder.appendingPathComponent("weights.safetensors").path),
            ])
        XCTAssertEqual(model["parameterCount"]?.int64Value, Int64(scenario.model.parameterCount))
        let dataset = try h.call(
            "dataset/load",
            [
                "format": "npy", "inputs": .string(scenario.folder.appendingPathComponent("x.npy").path),
                "targets": .string(scenario.folder.appendingPathComponent("y.npy").path), "name": "a1",
            ])
        XCTAssertEqual(dataset["name"], "a1")
        XCTAssertEqual(dataset["targets"], "regression")
        XCTAssertEqual(
            h.errorCode("dataset/load", ["format": "npy", "inputs": "/missing.npy", "targets": "/missing.npy"]), -31004)
        XCTAssertEqual(h.errorCode("dataset/load", ["format": "tsv"]), -32602)
    }

    func testGenerateListDisposeAndByteLimit() throws {
        var configuration = ServerConfiguration()
        configuration.limits.maxDatasetBytes = 100_000
        let h = ServerHarness(configuration: configuration)
        let xor = try h.call("dataset/generate", ["kind": "xor", "samples": 100, "noise": 0.1, "seed": 1])
        XCTAssertEqual(xor["samples"], 100)
        XCTAssertEqual(xor["classes"], 2)
        XCTAssertEqual(h.errorCode("dataset/generate", ["kind": "spirals", "samples": 100_000]), -31002)
        XCTAssertEqual(h.errorCode("dataset/generate", ["kind": "xor", "sample": 3]), -32602, "misspelt fields are refused")
        XCTAssertEqual(try h.call("dataset/list")["datasets"]?.arrayValue?.count, 1)
        XCTAssertEqual(try h.call("dataset/dispose", ["dataset": "d1"])["disposed"], "d1")
        XCTAssertEqual(try h.call("dataset/list")["datasets"]?.arrayValue?.count, 0)
    }
}
