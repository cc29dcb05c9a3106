import SaddleMath
import SaddleModels
import XCTest

/// Backpropagation against central finite differences in Double. With h = 1e-5 the truncation error
/// is ~h²·|f'''| ≈ 1e-10 and the rounding error ~ε/h ≈ 1e-11, so 1e-6 relative leaves a wide margin
/// while any wrong term (a missing factor, a transposed weight) gives errors of order 1.
final class GradientTests: XCTestCase {
    let tolerance = 1e-6

    func check(_ spec: ModelSpec, rows: Int = 5, file: StaticString = #filePath, line: UInt = #line) {
        let model = Model(spec: spec)
        let e = model.makeEvaluator(Double.self)
        let b = Fixture.batch(for: model, rows: rows)
        let g = Fixture.gradient(e, model.parameters, b)
        let fd = Fixture.finiteDifferenceGradient(e, model.parameters, b)
        XCTAssertEqual(g.count, model.parameterCount, file: file, line: line)
        XCTAssertGreaterThan(Fixture.norm(g), 1e-3, "gradient should not vanish here", file: file, line: line)
        XCTAssertLessThan(Fixture.relativeError(g, fd), tolerance, "\(spec.json)", file: file, line: line)
    }

    func testEveryActivationInDenseLayers() {
        let activations: [Activation] = [.identity, .relu, .leakyRelu(negativeSlope: 0.1), .tanh, .sigmoid, .gelu, .softplus]
        for a in activations {
            check(Fixture.spec(input: 3, [Fixture.dense(6, a), Fixture.dense(4, a), Fixture.dense(2)], loss: .mse))
        }
    }

    func testEveryLoss() {
        for loss in Loss.allCases {
            check(Fixture.spec(input: 4, [Fixture.dense(5, .tanh), Fixture.dense(3)], loss: loss))
        }
    }

    func testLayerNormResidualAndStandaloneActivation() {
        let spec = Fixture.spec(
            input: 3,
            [
                Fixture.dense(6, .tanh),
                .residual([Fixture.dense(5, .gelu), .layerNorm(eps: 1e-5), Fixture.dense(6, bias: false)]),
                .layerNorm(eps: 1e-5),
                .activation(.sigmoid),
                Fixture.dense(3),
            ], loss: .softmaxCrossEntropy)
        check(spec, rows: 6)
    }

    func testLayerNormAtInputAndResidualAtInput() {
        let spec = Fixture.spec(
            input: 4,
            [
                .residual([Fixture.dense(4, .softplus)]), .layerNorm(eps: 1e-3), Fixture.dense(2, .sigmoid),
            ], loss: .binaryCrossEntropy)
        check(spec)
    }

    /// Hand-computed: one weight w = 0.5, x = 2, y = 3: loss (wx − y)² = 4, dL/dw = 2(wx − y)x = −8.
    func testHandComputedScalarMSE() throws {
        let spec = Fixture.spec(input: 1, [Fixture.dense(1, bias: false)], loss: .mse)
        let model = try Model(spec: spec, parameters: [0.5])
        let e = model.makeEvaluator(Double.self)
        let b = Batch<Double>(inputs: [2], rows: 1, inputWidth: 1, targets: .dense([3], width: 1))
        var g: [Double] = []
        let l = try e.lossAndGradient(parameters: model.parameters, batch: b, gradient: &g)
        XCTAssertEqual(l, 4, accuracy: 1e-15)
        XCTAssertEqual(g, [-8])
    }

    /// Hand-computed softmax CE with zero logits over 3 classes: log 3, gradient (1/3 − [j = y]) xᵀ.
    func testHandComputedSoftmaxAtZero() throws {
        let spec = Fixture.spec(input: 1, [Fixture.dense(3, bias: false)], loss: .softmaxCrossEntropy)
        let model = try Model(spec: spec, parameters: [0, 0, 0])
        let e = model.makeEvaluator(Double.self)
        let b = Batch<Double>(inputs: [2], rows: 1, inputWidth: 1, targets: .classes([1]))
        var g: [Double] = []
        let l = try e.lossAndGradient(parameters: model.parameters, batch: b, gradient: &g)
        XCTAssertEqual(l, log(3.0), accuracy: 1e-15)
        XCTAssertEqual(g[0], 2.0 / 3, accuracy: 1e-15)
        XCTAssertEqual(g[1], 2.0 / 3 - 2, accuracy: 1e-15)
        XCTAssertEqual(g[2], 2.0 / 3, accuracy: 1e-15)
    }

    /// BCE with logits stays finite for huge logits (log1p(exp(−|o|)) form): o = 1000, y = 0 gives 1000.
    func testBinaryCrossEntropyIsStableForLargeLogits() throws {
        let spec = Fixture.spec(input: 1, [Fixture.dense(1, bias: false)], loss: .binaryCrossEntropy)
        let model = try Model(spec: spec, parameters: [1000])
        let e = model.makeEvaluator(Double.self)
        let b = Batch<Double>(inputs: [1], rows: 1, inputWidth: 1, targets: .dense([0], width: 1))
        XCTAssertEqual(try e.loss(parameters: model.parameters, batch: b), 1000, accuracy: 1e-12)
    }

    func testShapeMismatchesAreErrors() throws {
        let model = Model(spec: Fixture.spec(input: 2, [Fixture.dense(3)], loss: .softmaxCrossEntropy))
        let e = model.makeEvaluator(Double.self)
        let bad = Batch<Double>(inputs: [1, 2], rows: 1, inputWidth: 2, targets: .classes([3]))
        XCTAssertThrowsError(try e.loss(parameters: model.parameters, batch: bad)) { error in
            XCTAssertEqual("\(error)", "class target 3 at row 0 is outside 0..<3 (the model's output width)")
        }
        let ok = Batch<Double>(inputs: [1, 2], rows: 1, inputWidth: 2, targets: .classes([2]))
        XCTAssertThrowsError(try e.loss(parameters: [1, 2], batch: ok)) { error in
            XCTAssertEqual("\(error)", "the model has 9 parameters, got a vector of 2")
        }
        let dense = Batch<Double>(inputs: [1, 2], rows: 1, inputWidth: 2, targets: .dense([0, 0, 0], width: 3))
        XCTAssertThrowsError(try e.loss(parameters: model.parameters, batch: dense))
    }
}
