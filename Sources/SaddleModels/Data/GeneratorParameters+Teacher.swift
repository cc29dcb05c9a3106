import SaddleJSON
import SaddleMath

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

func sine(_ x: Double) -> Double { sin(x) }
func cosine(_ x: Double) -> Double { cos(x) }

/// Teacher–student: inputs x ~ N(0, I) in `inputs` dimensions, targets from a random teacher
/// network with one hidden layer, y = W₂ᵀ·act(W₁ᵀx + b₁), W₁ ~ N(0, 1/inputs), b₁ ~ N(0, 0.1²),
/// W₂ ~ N(0, 1/hidden) (computed with `BLASScalar.gemm` in double precision).
///
/// With `labels: "regression"` the targets are the teacher's outputs plus Gaussian noise of
/// standard deviation `noise`; with `"classes"` they are the argmax over the outputs (needs
/// `outputs ≥ 2`; noise, if any, is added before the argmax). A student of the teacher's
/// architecture can reach zero loss on noiseless regression data.
public struct TeacherStudentParameters: Sendable, Equatable, JSONDecodable {
    public enum Labels: String, Sendable, Equatable, CaseIterable { case regression, classes }
    public enum Activation: String, Sendable, Equatable, CaseIterable { case tanh, relu }

    public var inputs: Int
    public var hidden: Int
    public var outputs: Int
    public var samples: Int
    public var noise: Double
    public var labels: Labels
    public var activation: Activation
    public var seed: UInt64

    public init(
        inputs: Int = 4, hidden: Int = 8, outputs: Int = 1, samples: Int = 256, noise: Double = 0,
        labels: Labels = .regression, activation: Activation = .tanh, seed: UInt64 = 0
    ) {
        self.inputs = inputs
        self.hidden = hidden
        self.outputs = outputs
        self.samples = samples
        self.noise = noise
        self.labels = labels
        self.activation = activation
        self.seed = seed
    }

    public init(from reader: JSONReader) throws(JSONShapeError) {
        _ = try reader.object(
            allowing: GeneratorLimits.common.union(["inputs", "hidden", "outputs", "noise", "labels", "activation"]))
        inputs = try reader["inputs"].int(default: 4, min: 1, max: GeneratorLimits.maxWidth)
        hidden = try reader["hidden"].int(default: 8, min: 1, max: GeneratorLimits.maxWidth)
        samples = try reader["samples"].int(default: 256, min: 1, max: GeneratorLimits.maxSamples)
        noise = try reader["noise"].double(default: 0, min: 0)
        labels = try reader["labels"].enumCase(Labels.self, default: .regression)
        outputs = try reader["outputs"].int(
            default: labels == .classes ? 2 : 1, min: labels == .classes ? 2 : 1,
            max: GeneratorLimits.maxWidth)
        activation = try reader["activation"].enumCase(Activation.self, default: .tanh)
        seed = try GeneratorLimits.seed(reader)
    }

    /// The teacher's parameters: W₁ (`inputs × hidden`), b₁ (`hidden`), W₂ (`hidden × outputs`).
    public func teacher() -> (w1: Tensor<Double>, b1: [Double], w2: Tensor<Double>) {
        var rng = SeededRandom(seed: seed)
        let w1 = Tensor<Double>.gaussian(shape: [inputs, hidden], std: 1 / Double(inputs).squareRoot(), rng: &rng)
        let b1 = (0..<hidden).map { _ in 0.1 * rng.gaussian() }
        let w2 = Tensor<Double>.gaussian(shape: [hidden, outputs], std: 1 / Double(hidden).squareRoot(), rng: &rng)
        return (w1, b1, w2)
    }

    /// The teacher's outputs for row-major inputs `x` (`rows × inputs`), `rows × outputs`.
    public func teacherOutputs(_ x: Tensor<Double>) -> Tensor<Double> {
        let (w1, b1, w2) = teacher()
        var h = x.matmul(w1)
        for r in 0..<h.shape[0] {
            for j in 0..<hidden {
                let z = h.storage[r * hidden + j] + b1[j]
                h.storage[r * hidden + j] = activation == .tanh ? tanh(z) : max(z, 0)
            }
        }
        return h.matmul(w2)
    }

    func generate() throws(DatasetError) -> Dataset {
        var rng = GeneratorLimits.dataStream(seed)
        let x = Tensor<Double>.gaussian(shape: [samples, inputs], rng: &rng)
        var y = teacherOutputs(x).storage
        if noise > 0 { for i in y.indices { y[i] += noise * rng.gaussian() } }
        let targets: DatasetTargets
        switch labels {
        case .regression:
            targets = .regression(y, width: outputs)
        case .classes:
            var classes = [Int32]()
            for r in 0..<samples {
                var best = 0
                for j in 1..<outputs where y[r * outputs + j] > y[r * outputs + best] { best = j }
                classes.append(Int32(best))
            }
            targets = .classes(classes, classCount: outputs)
        }
        return try Dataset(
            name: "teacherStudent", inputs: x.storage, inputWidth: inputs, targets: targets,
            provenance:
                "generated teacherStudent: inputs \(inputs), hidden \(hidden) \(activation.rawValue), outputs \(outputs), samples \(samples), noise \(noise), labels \(labels.rawValue), seed \(seed)"
        )
    }
}

/// Deep-linear regression data: x ~ N(0, I) in `inputs` dimensions and y = W·x + ε with a random
/// W ~ N(0, 1/inputs) of shape `outputs × inputs` and ε ~ N(0, noise²). The loss landscape of a deep
/// linear network on such data has saddles at zero and only global minima otherwise.
public struct DeepLinearParameters: Sendable, Equatable, JSONDecodable {
    public var inputs: Int
    public var outputs: Int
    public var samples: Int
    public var noise: Double
    public var seed: UInt64

    public init(inputs: Int = 2, outputs: Int = 1, samples: Int = 64, noise: Double = 0, seed: UInt64 = 0) {
        self.inputs = inputs
        self.outputs = outputs
        self.samples = samples
        self.noise = noise
        self.seed = seed
    }

    public init(from reader: JSONReader) throws(JSONShapeError) {
        _ = try reader.object(allowing: GeneratorLimits.common.union(["inputs", "outputs", "noise"]))
        inputs = try reader["inputs"].int(default: 2, min: 1, max: GeneratorLimits.maxWidth)
        outputs = try reader["outputs"].int(default: 1, min: 1, max: GeneratorLimits.maxWidth)
        samples = try reader["samples"].int(default: 64, min: 1, max: GeneratorLimits.maxSamples)
        noise = try reader["noise"].double(default: 0, min: 0)
        seed = try GeneratorLimits.seed(reader)
    }

    /// The true map W (`outputs × inputs`), drawn first from the seed's stream.
    public func weights() -> Tensor<Double> {
        var rng = SeededRandom(seed: seed)
        return Tensor<Double>.gaussian(shape: [outputs, inputs], std: 1 / Double(inputs).squareRoot(), rng: &rng)
    }

    func generate() throws(DatasetError) -> Dataset {
        var rng = GeneratorLimits.dataStream(seed)
        let x = Tensor<Double>.gaussian(shape: [samples, inputs], rng: &rng)
        var y = x.matmul(weights(), transposeOther: true).storage
        if noise > 0 { for i in y.indices { y[i] += noise * rng.gaussian() } }
        return try Dataset(
            name: "deepLinear", inputs: x.storage, inputWidth: inputs,
            targets: .regression(y, width: outputs),
            provenance:
                "generated deepLinear: inputs \(inputs), outputs \(outputs), samples \(samples), noise \(noise), seed \(seed)")
    }
}
