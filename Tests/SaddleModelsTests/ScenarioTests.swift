import Foundation
import SaddleJSON
import SaddleMath
import SaddleModels
import XCTest

/// Every ground-truth scenario (float64 JAX references) reproduced: loss, gradient, H·v and the dense
/// Hessian to 1e-9 relative. Both sides are float64 with the same formulas, so the differences are
/// rounding (~1e-14); 1e-9 is tight enough to catch any convention mismatch (a ½ in MSE, a sum instead of
/// a mean, a transposed weight) and loose enough for summation-order differences. Quantities that are
/// exactly zero in exact arithmetic are compared with an absolute floor of 1e-12 times the scale.
final class ScenarioTests: XCTestCase {
    static var scenariosRoot: URL? {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }  // Tests/SaddleModelsTests/File.swift → repo root
        let sibling = url.deletingLastPathComponent().appendingPathComponent("shared/scenarios")
        if FileManager.default.fileExists(atPath: sibling.path) { return sibling }
        if let env = ProcessInfo.processInfo.environment["SADDLE_SCENARIOS"] { return URL(fileURLWithPath: env) }
        return nil
    }

    struct Scenario {
        var name: String
        var model: Model
        var batch: Batch<Double>
        var expected: JSON
        var folder: URL
        func array(_ file: String) throws -> NumpyTestReader.Array {
            try NumpyTestReader.read(folder.appendingPathComponent(file))
        }
    }

    /// Translates model.json the way a user would: each `layers` entry is a dense layer.
    static func load(_ folder: URL) throws -> Scenario {
        let description = try JSON.parse([UInt8](Data(contentsOf: folder.appendingPathComponent("model.json"))))
        let expected = try JSON.parse([UInt8](Data(contentsOf: folder.appendingPathComponent("expected.json"))))
        let layers = description["layers"]?.arrayValue ?? []
        var specLayers: [LayerSpec] = []
        for layer in layers {
            let activation: Activation
            switch layer["activation"]?.stringValue {
            case "tanh": activation = .tanh
            case "relu": activation = .relu
            case "sigmoid": activation = .sigmoid
            default: activation = .identity
            }
            specLayers.append(.dense(DenseSpec(units: Int(layer["out"]?.int64Value ?? 0),
                                               bias: layer["bias"]?.boolValue ?? true, activation: activation)))
        }
        let loss: Loss = description["loss"]?.stringValue == "mse" ? .mse : .softmaxCrossEntropy
        let input = Int(layers.first?["in"]?.int64Value ?? 0)
        let spec = try ModelSpec(input: input, layers: specLayers, loss: loss)
        var model = Model(spec: spec)
        try model.loadWeights(safetensorsAt: folder.appendingPathComponent("weights.safetensors").path)
        let x = try NumpyTestReader.read(folder.appendingPathComponent("x.npy"))
        let y = try NumpyTestReader.read(folder.appendingPathComponent("y.npy"))
        let rows = x.shape[0]
        let targets: Targets<Double> = loss == .mse
            ? .dense(y.values, width: y.values.count / rows) : .classes(y.values.map { Int32($0) })
        let batch = Batch(inputs: x.values, rows: rows, inputWidth: input, targets: targets)
        return Scenario(name: folder.lastPathComponent, model: model, batch: batch, expected: expected, folder: folder)
    }

    func scenarios() throws -> [Scenario] {
        guard let root = Self.scenariosRoot else { throw XCTSkip("no scenarios folder (set SADDLE_SCENARIOS)") }
        let names = try FileManager.default.contentsOfDirectory(atPath: root.path).sorted()
            .filter { !$0.hasSuffix(".md") }
        XCTAssertGreaterThanOrEqual(names.count, 6)
        return try names.map { try Self.load(root.appendingPathComponent($0)) }
    }

    func testLossGradientAndHVP() throws {
        for s in try scenarios() {
            let e = s.model.makeEvaluator(Double.self)
            var g: [Double] = []
            let loss = try e.lossAndGradient(parameters: s.model.parameters, batch: s.batch, gradient: &g)
            let expectedLoss = try XCTUnwrap(s.expected["loss"]?.doubleValue)
            XCTAssertEqual(loss, expectedLoss, accuracy: 1e-9 * abs(expectedLoss), s.name)
            let gradNorm = try XCTUnwrap(s.expected["grad_norm"]?.doubleValue)
            XCTAssertEqual(Fixture.norm(g), gradNorm, accuracy: max(1e-9 * gradNorm, 1e-12 * max(1, expectedLoss)), s.name)
            let gRef = try s.array("grad.npy").values
            XCTAssertLessThanOrEqual(Fixture.norm(zip(g, gRef).map { $0 - $1 }), max(1e-9 * Fixture.norm(gRef), 1e-12), s.name)

            let v = try s.array("hvp_v.npy").values
            let hvRef = try s.array("hvp_hv.npy").values
            var hv: [Double] = []
            try e.hessianVectorProduct(parameters: s.model.parameters, batch: s.batch, vector: v, into: &hv)
            XCTAssertLessThanOrEqual(Fixture.norm(zip(hv, hvRef).map { $0 - $1 }), max(1e-9 * Fixture.norm(hvRef), 1e-12),
                                     s.name)
        }
    }

    /// The dense Hessian from n HVPs against hessian.npy, and its extreme eigenvalues against
    /// expected.json (LAPACK on our Hessian), relative to the largest |entry| / |eigenvalue|.
    func testDenseHessianAndSpectrum() throws {
        for s in try scenarios() {
            let e = s.model.makeEvaluator(Double.self)
            let n = s.model.parameterCount
            let reference = try s.array("hessian.npy")
            XCTAssertEqual(reference.shape, [n, n], s.name)
            var hessian = [Double](repeating: 0, count: n * n)
            var unit = [Double](repeating: 0, count: n), column: [Double] = []
            for j in 0..<n {
                unit[j] = 1
                try e.hessianVectorProduct(parameters: s.model.parameters, batch: s.batch, vector: unit, into: &column)
                unit[j] = 0
                for i in 0..<n { hessian[i * n + j] = column[i] }
            }
            let scale = max(reference.values.map(abs).max() ?? 0, 1)
            let maxDiff = zip(hessian, reference.values).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(maxDiff, 1e-9 * scale, s.name)

            let eigen = try SymmetricEigen.dense(hessian, n: n, vectors: false)
            let top = try XCTUnwrap(s.expected["hessian_top5"]?.arrayValue).compactMap(\.doubleValue)
            let bottom = try XCTUnwrap(s.expected["hessian_bottom5"]?.arrayValue).compactMap(\.doubleValue)
            let ascending = eigen.values.sorted()
            let lambdaScale = max(abs(ascending.first ?? 0), abs(ascending.last ?? 0), 1e-300)
            for (k, value) in top.enumerated() {
                XCTAssertEqual(ascending[n - 1 - k], value, accuracy: 1e-9 * max(lambdaScale, 1), "\(s.name) top \(k)")
            }
            for (k, value) in bottom.enumerated() {
                XCTAssertEqual(ascending[k], value, accuracy: 1e-9 * max(lambdaScale, 1), "\(s.name) bottom \(k)")
            }
        }
    }

    /// The names and shapes the scenarios use are exactly ours (nn.Sequential state-dict convention).
    func testBlockNamesFollowTorchSequential() throws {
        for s in try scenarios() {
            let description = try JSON.parse([UInt8](Data(contentsOf: s.folder.appendingPathComponent("model.json"))))
            let order = try XCTUnwrap(description["param_order"]?.arrayValue)
            XCTAssertEqual(s.model.blocks.map(\.name), order.compactMap { $0["name"]?.stringValue }, s.name)
            XCTAssertEqual(s.model.blocks.map(\.shape),
                           order.map { ($0["shape"]?.arrayValue ?? []).compactMap { $0.int64Value.map { Int($0) } } }, s.name)
        }
    }
}
