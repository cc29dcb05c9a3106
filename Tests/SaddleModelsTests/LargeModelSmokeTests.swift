import SaddleMath
import SaddleModels
import XCTest

/// The benchmark-sized MLP (784-256-256-10 ReLU, softmax CE, batch 128) evaluated in both precisions.
/// Asserts values only, never timings.
final class LargeModelSmokeTests: XCTestCase {
    func testBenchmarkMLPFloatMatchesDouble() throws {
        let spec = Fixture.spec(
            input: 784, [Fixture.dense(256, .relu), Fixture.dense(256, .relu), Fixture.dense(10)],
            loss: .softmaxCrossEntropy, seed: 1)
        let model = Model(spec: spec)
        XCTAssertEqual(model.parameterCount, 784 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10)
        let bd = Fixture.batch(for: model, rows: 128)
        guard case .classes(let classes) = bd.targets else { return XCTFail("class targets expected") }
        let bf = Batch<Float>(inputs: bd.inputs.map { Float($0) }, rows: 128, inputWidth: 784, targets: .classes(classes))
        let ed = model.makeEvaluator(Double.self), ef = model.makeEvaluator(Float.self)
        var gd: [Double] = [], gf: [Float] = []
        let ld = try ed.lossAndGradient(parameters: model.parameters, batch: bd, gradient: &gd)
        // PyTorch's default init keeps logits small: the loss starts near log 10 ≈ 2.303.
        XCTAssertEqual(ld, log(10.0), accuracy: 0.1)
        // Repeated calls reuse the workspaces and give identical results.
        for _ in 0..<2 {
            let lf = try ef.lossAndGradient(parameters: model.parameters(as: Float.self), batch: bf, gradient: &gf)
            XCTAssertEqual(Double(lf), ld, accuracy: 1e-5 * ld)
            // Float accumulates 784-term dot products: ~1e-6 relative, 1e-4 leaves margin.
            XCTAssertLessThan(Fixture.relativeError(gf.map { Double($0) }, gd), 1e-4)
        }
    }
}
