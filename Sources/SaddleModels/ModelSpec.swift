import SaddleJSON

/// The architecture of a feed-forward model, read from and written to JSON.
///
/// Wire shape (the reference copy lives in `protocol/`):
///
/// ```json
/// {
///   "input": 2,
///   "layers": [
///     {"kind": "dense", "units": 16, "bias": true, "activation": "tanh", "init": {"kind": "xavier"}},
///     {"kind": "residual", "layers": [{"kind": "dense", "units": 16, "activation": "relu"}]},
///     {"kind": "layernorm", "eps": 1e-5},
///     {"kind": "activation", "activation": "leakyRelu", "negativeSlope": 0.01}
///   ],
///   "loss": "mse",
///   "seed": 1
/// }
/// ```
///
/// - `input`: positive integer, the width of a sample.
/// - `layers`: at least one layer. Kinds: `dense` (`units` required; `bias` default `true`;
///   `activation` default `identity`; `negativeSlope` only with `leakyRelu`, default 0.01; `init` default
///   `{"kind": "default"}`), `residual` (`layers`: a non-empty list whose output width equals its input
///   width; computes x + f(x)), `layernorm` (over the feature axis with learnable scale and shift,
///   `eps` default 1e-5 as in PyTorch), `activation` (`activation`, optional `negativeSlope`).
/// - `loss`: `mse` (mean over all entries of (output − target)², no ½, as `torch.nn.MSELoss`),
///   `softmaxCrossEntropy` (mean over rows of −log softmax(output)[class], as `torch.nn.CrossEntropyLoss`),
///   `binaryCrossEntropy` (mean over entries of BCE with logits, as `torch.nn.BCEWithLogitsLoss`; the last
///   layer outputs logits).
/// - `seed`: non-negative integer for initialization, default 0.
///
/// Activations: `identity`, `relu`, `leakyRelu`, `tanh`, `sigmoid`, `gelu` (exact, x·Φ(x) with the
/// error function, as PyTorch's default `nn.GELU()`), `softplus` (log(1 + eˣ), computed stably, without
/// PyTorch's linear cut-over above 20, which differs by less than 2e-9).
/// Initializers (`init.kind`): `default` (PyTorch's `nn.Linear`: weight and bias uniform in ±1/√in),
/// `zeros`, `constant` (`value`), `normal` (`std`), `uniform` (`scale`: uniform in ±scale), `xavier`
/// (Glorot uniform, ±√(6/(in+out))), `kaiming` (He normal, std √(2/in)), `orthogonal` (`gain`, default 1:
/// Gram–Schmidt on a Gaussian matrix). Every initializer but `default` sets the bias to zero.
public struct ModelSpec: Sendable, Equatable, JSONDecodable, JSONEncodable {
    public var input: Int
    public var layers: [LayerSpec]
    public var loss: Loss
    public var seed: UInt64

    /// Validates widths: positive sizes, non-empty layer lists, residual blocks that keep their width.
    public init(input: Int, layers: [LayerSpec], loss: Loss, seed: UInt64 = 0) throws(ModelError) {
        self.input = input
        self.layers = layers
        self.loss = loss
        self.seed = seed
        do { _ = try Self.validate(layers, inputWidth: input, path: "spec.layers") } catch { throw .spec(error) }
        if input < 1 { throw .spec(JSONShapeError(path: "spec.input", message: "must be a positive integer, got \(input)")) }
    }

    public init(from reader: JSONReader) throws(JSONShapeError) {
        _ = try reader.object(allowing: ["input", "layers", "loss", "seed"])
        input = try reader["input"].int(min: 1)
        let layerReaders = try reader["layers"].array(minCount: 1)
        var layers: [LayerSpec] = []
        for element in layerReaders { layers.append(try LayerSpec(from: element)) }
        self.layers = layers
        loss = try reader["loss"].enumCase(Loss.self)
        seed = UInt64(try reader["seed"].int(default: 0, min: 0))
        _ = try Self.validate(layers, inputWidth: input, path: reader["layers"].path)
    }

    /// Width of the model's output (the last layer's width).
    public var outputWidth: Int { Self.outputWidth(layers, inputWidth: input) }

    static func outputWidth(_ layers: [LayerSpec], inputWidth: Int) -> Int {
        var width = inputWidth
        for layer in layers { if case .dense(let d) = layer { width = d.units } }
        return width
    }

    /// Returns the output width; throws with the path of the first inconsistent layer.
    static func validate(_ layers: [LayerSpec], inputWidth: Int, path: String) throws(JSONShapeError) -> Int {
        if layers.isEmpty { throw JSONShapeError(path: path, message: "must have at least 1 element(s), got 0") }
        var width = inputWidth
        for (i, layer) in layers.enumerated() {
            let here = "\(path)[\(i)]"
            switch layer {
            case .dense(let d):
                if d.units < 1 {
                    throw JSONShapeError(path: "\(here).units", message: "must be a positive integer, got \(d.units)")
                }
                width = d.units
            case .residual(let inner):
                let out = try validate(inner, inputWidth: width, path: "\(here).layers")
                if out != width {
                    throw JSONShapeError(
                        path: "\(here).layers",
                        message: "must end with width \(width) (the residual block's input width), got \(out)")
                }
            case .layerNorm(let eps):
                if !(eps > 0) { throw JSONShapeError(path: "\(here).eps", message: "must be positive, got \(eps)") }
            case .activation:
                break
            }
        }
        return width
    }

    public var json: JSON {
        .object([
            "input": .int(input), "layers": .array(layers.map(\.json)), "loss": .string(loss.rawValue),
            "seed": .int(Int64(bitPattern: seed)),
        ])
    }
}

/// One layer of a ``ModelSpec``.
public indirect enum LayerSpec: Sendable, Equatable, JSONDecodable, JSONEncodable {
    /// y = act(x Wᵀ + b) with W of shape [units, in].
    case dense(DenseSpec)
    /// y = x + f(x), f the inner layers (their output width equals their input width).
    case residual([LayerSpec])
    /// Layer normalization over the features with learnable scale (init 1) and shift (init 0).
    case layerNorm(eps: Double)
    /// An element-wise activation.
    case activation(Activation)

    public static let kinds = ["dense", "residual", "layernorm", "activation"]

    public init(from reader: JSONReader) throws(JSONShapeError) {
        _ = try reader.object()
        switch try reader["kind"].oneOf(Self.kinds) {
        case "dense":
            _ = try reader.object(allowing: ["kind", "units", "bias", "activation", "negativeSlope", "init"])
            let activation = try Activation(from: reader)
            let initializer = try reader["init"].decodeIfPresent(Initializer.self) ?? .default
            self = .dense(
                DenseSpec(
                    units: try reader["units"].int(min: 1), bias: try reader["bias"].bool(default: true),
                    activation: activation, initializer: initializer))
        case "residual":
            _ = try reader.object(allowing: ["kind", "layers"])
            var inner: [LayerSpec] = []
            for element in try reader["layers"].array(minCount: 1) { inner.append(try LayerSpec(from: element)) }
            self = .residual(inner)
        case "layernorm":
            _ = try reader.object(allowing: ["kind", "eps"])
            let eps = try reader["eps"].double(default: 1e-5)
            if !(eps > 0) { throw reader["eps"].fail("must be positive, got \(eps)") }
            self = .layerNorm(eps: eps)
        default:
            _ = try reader.object(allowing: ["kind", "activation", "negativeSlope"])
            if reader["activation"].isAbsent { throw reader["activation"].fail("is required: give a string") }
            self = .activation(try Activation(from: reader))
        }
    }

    public var json: JSON {
        switch self {
        case .dense(let d):
            var members: [String: JSON] = [
                "kind": "dense", "units": .int(d.units), "bias": .bool(d.bias),
                "init": d.initializer.json,
            ]
            d.activation.write(into: &members)
            return .object(members)
        case .residual(let inner):
            return .object(["kind": "residual", "layers": .array(inner.map(\.json))])
        case .layerNorm(let eps):
            return .object(["kind": "layernorm", "eps": .double(eps)])
        case .activation(let a):
            var members: [String: JSON] = ["kind": "activation"]
            a.write(into: &members)
            return .object(members)
        }
    }
}

/// A dense (fully connected) layer.
public struct DenseSpec: Sendable, Equatable {
    public var units: Int
    public var bias: Bool
    public var activation: Activation
    public var initializer: Initializer
    public init(units: Int, bias: Bool = true, activation: Activation = .identity, initializer: Initializer = .default) {
        self.units = units
        self.bias = bias
        self.activation = activation
        self.initializer = initializer
    }
}

/// An element-wise activation function.
public enum Activation: Sendable, Equatable {
    case identity, relu, leakyRelu(negativeSlope: Double), tanh, sigmoid
    /// Exact GELU, x·Φ(x) with Φ the standard normal CDF through `erf` (PyTorch's default).
    case gelu
    case softplus

    public static let names = ["identity", "relu", "leakyRelu", "tanh", "sigmoid", "gelu", "softplus"]

    public var name: String {
        switch self {
        case .identity: "identity"
        case .relu: "relu"
        case .leakyRelu: "leakyRelu"
        case .tanh: "tanh"
        case .sigmoid: "sigmoid"
        case .gelu: "gelu"
        case .softplus: "softplus"
        }
    }

    /// Reads `activation` (default identity) and `negativeSlope` from a layer object.
    init(from layer: JSONReader) throws(JSONShapeError) {
        switch try layer["activation"].oneOf(Self.names, default: "identity") {
        case "relu": self = .relu
        case "leakyRelu": self = .leakyRelu(negativeSlope: try layer["negativeSlope"].double(default: 0.01))
        case "tanh": self = .tanh
        case "sigmoid": self = .sigmoid
        case "gelu": self = .gelu
        case "softplus": self = .softplus
        default: self = .identity
        }
        if case .leakyRelu = self {
        } else if !layer["negativeSlope"].isAbsent {
            throw layer["negativeSlope"].fail("is only allowed with \"activation\": \"leakyRelu\"")
        }
    }

    func write(into members: inout [String: JSON]) {
        members["activation"] = .string(name)
        if case .leakyRelu(let slope) = self { members["negativeSlope"] = .double(slope) }
    }
}

/// How a dense layer's weights are drawn; see ``ModelSpec`` for each formula.
public enum Initializer: Sendable, Equatable, JSONDecodable, JSONEncodable {
    case `default`, zeros, constant(Double), normal(std: Double), uniform(scale: Double), xavier, kaiming
    case orthogonal(gain: Double)

    public static let kinds = ["default", "zeros", "constant", "normal", "uniform", "xavier", "kaiming", "orthogonal"]

    public init(from reader: JSONReader) throws(JSONShapeError) {
        _ = try reader.object()
        switch try reader["kind"].oneOf(Self.kinds) {
        case "zeros": _ = try reader.object(allowing: ["kind"]); self = .zeros
        case "constant": _ = try reader.object(allowing: ["kind", "value"]); self = .constant(try reader["value"].double())
        case "normal":
            _ = try reader.object(allowing: ["kind", "std"]); self = .normal(std: try reader["std"].double(min: 0))
        case "uniform":
            _ = try reader.object(allowing: ["kind", "scale"]); self = .uniform(scale: try reader["scale"].double(min: 0))
        case "xavier": _ = try reader.object(allowing: ["kind"]); self = .xavier
        case "kaiming": _ = try reader.object(allowing: ["kind"]); self = .kaiming
        case "orthogonal":
            _ = try reader.object(allowing: ["kind", "gain"]); self = .orthogonal(gain: try reader["gain"].double(default: 1))
        default: _ = try reader.object(allowing: ["kind"]); self = .default
        }
    }

    public var json: JSON {
        switch self {
        case .default: ["kind": "default"]
        case .zeros: ["kind": "zeros"]
        case .constant(let v): ["kind": "constant", "value": .double(v)]
        case .normal(let std): ["kind": "normal", "std": .double(std)]
        case .uniform(let scale): ["kind": "uniform", "scale": .double(scale)]
        case .xavier: ["kind": "xavier"]
        case .kaiming: ["kind": "kaiming"]
        case .orthogonal(let gain): ["kind": "orthogonal", "gain": .double(gain)]
        }
    }
}

/// The training loss, with PyTorch's conventions (see ``ModelSpec``).
public enum Loss: String, Sendable, Equatable, CaseIterable {
    case mse, softmaxCrossEntropy, binaryCrossEntropy
}
