import SaddleJSON
import SaddleMath
import SaddleModels
import XCTest

/// Spec parsing, error messages, encoding, naming and initialization.
final class ModelSpecTests: XCTestCase {
    func parse(_ text: String) throws -> ModelSpec {
        try ModelSpec(from: JSONReader(try JSON.parse(text), path: "params"))
    }

    func parseError(_ text: String) -> String {
        do {
            _ = try parse(text)
            return "no error"
        } catch { return "\(error)" }
    }

    func testParsesTheDocumentedExampleAndRoundTrips() throws {
        let spec = try parse(
            """
            {"input": 2, "layers": [
              {"kind":"dense","units":16,"bias":true,"activation":"tanh","init":{"kind":"xavier"}},
              {"kind":"residual","layers":[{"kind":"dense","units":16,"activation":"relu"}]},
              {"kind":"layernorm"},
              {"kind":"activation","activation":"leakyRelu","negativeSlope":0.2},
              {"kind":"dense","units":3,"bias":false,"init":{"kind":"orthogonal","gain":2}}
            ], "loss": "softmaxCrossEntropy", "seed": 1}
            """)
        XCTAssertEqual(spec.input, 2)
        XCTAssertEqual(spec.seed, 1)
        XCTAssertEqual(spec.loss, .softmaxCrossEntropy)
        XCTAssertEqual(spec.layers[0], .dense(DenseSpec(units: 16, bias: true, activation: .tanh, initializer: .xavier)))
        XCTAssertEqual(spec.layers[2], .layerNorm(eps: 1e-5))
        XCTAssertEqual(spec.layers[3], .activation(.leakyRelu(negativeSlope: 0.2)))
        XCTAssertEqual(spec.outputWidth, 3)
        let again = try ModelSpec(from: JSONReader(try JSON.parse(spec.json.serialized()), path: "params"))
        XCTAssertEqual(again, spec)
    }

    func testErrorsNameThePathAndTheChoices() {
        XCTAssertEqual(
            parseError(
                #"{"input":2,"layers":[{"kind":"dense","units":4},{"kind":"dense","units":4},{"kind":"dense","units":-3}],"loss":"mse"}"#
            ),
            "`params.layers[2].units` must be a positive integer, got -3")
        XCTAssertEqual(
            parseError(#"{"input":2,"layers":[{"kind":"conv"}],"loss":"mse"}"#),
            #"`params.layers[0].kind` must be one of "dense", "residual", "layernorm", "activation", got "conv""#)
        XCTAssertEqual(
            parseError(#"{"input":2,"layers":[{"kind":"dense","units":1,"activation":"swish"}],"loss":"mse"}"#),
            #"`params.layers[0].activation` must be one of "identity", "relu", "leakyRelu", "tanh", "sigmoid", "gelu", "softplus", got "swish""#
        )
        XCTAssertEqual(
            parseError(#"{"input":2,"layers":[{"kind":"dense","units":1}],"loss":"hinge"}"#),
            #"`params.loss` must be one of "mse", "softmaxCrossEntropy", "binaryCrossEntropy", got "hinge""#)
        XCTAssertEqual(
            parseError(#"{"input":2,"layers":[{"kind":"residual","layers":[{"kind":"dense","units":3}]}],"loss":"mse"}"#),
            "`params.layers[0].layers` must end with width 2 (the residual block's input width), got 3")
        XCTAssertEqual(
            parseError(#"{"input":2,"layers":[{"kind":"dense","units":1,"init":{"kind":"he"}}],"loss":"mse"}"#),
            #"`params.layers[0].init.kind` must be one of "default", "zeros", "constant", "normal", "uniform", "xavier", "kaiming", "orthogonal", got "he""#
        )
        XCTAssertEqual(
            parseError(#"{"input":2,"layers":[],"loss":"mse"}"#),
            "`params.layers` must have at least 1 element(s), got 0")
        XCTAssertEqual(
            parseError(#"{"input":2,"layers":[{"kind":"dense","units":1,"negativeSlope":0.1}],"loss":"mse"}"#),
            #"`params.layers[0].negativeSlope` is only allowed with "activation": "leakyRelu""#)
        XCTAssertEqual(
            parseError(#"{"input":2,"layers":[{"kind":"dense","unit":1}],"loss":"mse"}"#),
            "`params.layers[0].unit` is not a known field; expected one of: activation, bias, init, kind, negativeSlope, units")
    }

    func testBlockNamesResidualAndLayerNormConvention() throws {
        let spec = try parse(
            """
            {"input": 3, "layers": [
              {"kind":"dense","units":4,"activation":"relu"},
              {"kind":"residual","layers":[{"kind":"dense","units":5,"activation":"tanh"},{"kind":"dense","units":4,"bias":false}]},
              {"kind":"layernorm"},
              {"kind":"dense","units":2}
            ], "loss": "mse"}
            """)
        let model = Model(spec: spec)
        XCTAssertEqual(
            model.blocks.map(\.name),
            [
                "0.weight", "0.bias", "2.layers.0.weight", "2.layers.0.bias",
                "2.layers.2.weight", "3.weight", "3.bias", "4.weight", "4.bias",
            ])
        XCTAssertEqual(model.blocks.map(\.shape), [[4, 3], [4], [5, 4], [5], [4, 5], [4], [4], [2, 4], [2]])
        XCTAssertEqual(model.blocks.map(\.layer), [0, 0, 1, 1, 1, 2, 2, 3, 3])
        XCTAssertEqual(model.parameterCount, 12 + 4 + 20 + 5 + 20 + 4 + 4 + 8 + 2)
        XCTAssertEqual(model.blocks.last?.range, 77..<79)
        // Layernorm starts as the identity affine map.
        let scale = try XCTUnwrap(model.block(named: "3.weight"))
        XCTAssertEqual(Array(model.parameters[scale.range]), [1, 1, 1, 1])
    }

    /// Initialization is deterministic for a seed and follows each initializer's bounds.
    func testInitializers() throws {
        func model(_ initializer: Initializer, units: Int = 64, input: Int = 100, seed: UInt64 = 3) -> Model {
            Model(
                spec: Fixture.spec(
                    input: input, [.dense(DenseSpec(units: units, initializer: initializer))],
                    loss: .mse, seed: seed))
        }
        XCTAssertEqual(model(.default).parameters, model(.default).parameters)
        XCTAssertNotEqual(model(.default).parameters, model(.default, seed: 4).parameters)
        // PyTorch nn.Linear default: weight and bias uniform in ±1/√in = ±0.1; spread reaches the bound.
        let d = model(.default).parameters
        XCTAssertLessThanOrEqual(d.map(abs).max() ?? 1, 0.1)
        XCTAssertGreaterThan(d.map(abs).max() ?? 0, 0.099)
        XCTAssertTrue(d[6400...].contains { $0 != 0 }, "default init draws the bias too")
        let x = model(.xavier).parameters
        XCTAssertLessThanOrEqual(x.map(abs).max() ?? 1, (6.0 / 164).squareRoot())
        XCTAssertEqual(Array(x[6400...]), [Double](repeating: 0, count: 64), "bias zero")
        // He normal: sample std of 6400 draws within 5% of √(2/100) (sampling error ≈ 0.9%).
        let k = Array(model(.kaiming).parameters[..<6400])
        let std = (k.reduce(0) { $0 + $1 * $1 } / 6400).squareRoot()
        XCTAssertEqual(std, (2.0 / 100).squareRoot(), accuracy: 0.05 * (2.0 / 100).squareRoot())
        XCTAssertEqual(model(.constant(0.5)).parameters[0], 0.5)
        XCTAssertEqual(model(.zeros).parameters.max(), 0)
        // Orthogonal with gain 2: W Wᵀ = 4 I for a wide matrix (rows 64 ≤ columns 100), to rounding.
        let o = model(.orthogonal(gain: 2)).parameters
        for i in [0, 17, 63] {
            for j in [0, 17, 63] {
                let dot = (0..<100).reduce(0.0) { $0 + o[i * 100 + $1] * o[j * 100 + $1] }
                XCTAssertEqual(dot, i == j ? 4 : 0, accuracy: 1e-12)
            }
        }
        // Tall matrix: orthonormal columns, WᵀW = I.
        let tall = model(.orthogonal(gain: 1), units: 10, input: 3).parameters
        for i in 0..<3 {
            for j in 0..<3 {
                let dot = (0..<10).reduce(0.0) { $0 + tall[$1 * 3 + i] * tall[$1 * 3 + j] }
                XCTAssertEqual(dot, i == j ? 1 : 0, accuracy: 1e-12)
            }
        }
    }
}
