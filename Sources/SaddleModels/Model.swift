import SaddleMath

/// A model: its spec and one flat vector of parameters in Double (the master copy).
///
/// Layers see slices of ``parameters`` as listed in ``blocks``: per layer the weight ([out, in],
/// row-major) then the bias, in layer order. Optimizers, curvature and perturbations are plain vector
/// operations on this vector. Evaluate in either precision with ``makeEvaluator(_:)`` and
/// ``parameters(as:)``.
public struct Model: Sendable {
    public let spec: ModelSpec
    /// The flat parameter vector (``parameterCount`` values). Assigning a vector of another length traps;
    /// for untrusted input use ``init(spec:parameters:)``, which throws.
    public var parameters: [Double] {
        didSet { precondition(parameters.count == plan.parameterCount, "parameter count must not change") }
    }
    let plan: ModelPlan

    /// A model initialized from the spec's initializers and seed (deterministic for a seed).
    public init(spec: ModelSpec) {
        self.spec = spec
        plan = ModelPlan(spec: spec)
        parameters = Self.initialize(plan, seed: spec.seed)
    }

    /// A model with the given parameters; throws if their count is not ``parameterCount``.
    public init(spec: ModelSpec, parameters: [Double]) throws(ModelError) {
        self.spec = spec
        plan = ModelPlan(spec: spec)
        guard parameters.count == plan.parameterCount else {
            throw .shapeMismatch("the model has \(plan.parameterCount) parameters, got a vector of \(parameters.count)")
        }
        self.parameters = parameters
    }

    public var parameterCount: Int { plan.parameterCount }
    /// Named tensors in flat-vector order.
    public var blocks: [ParameterBlock] { plan.blocks }
    public var inputWidth: Int { spec.input }
    public var outputWidth: Int { plan.outputWidth }

    /// The parameters converted to `T` (rounded to nearest for Float).
    public func parameters<T: BLASScalar>(as type: T.Type) -> [T] { parameters.map { T($0) } }

    /// A fresh evaluator for this architecture in precision `T`; one per thread.
    public func makeEvaluator<T: BLASScalar>(_ type: T.Type) -> Evaluator<T> { Evaluator(plan: plan, loss: spec.loss) }

    /// The block with a given state-dict name.
    public func block(named name: String) -> ParameterBlock? { plan.blocks.first { $0.name == name } }

    static func initialize(_ plan: ModelPlan, seed: UInt64) -> [Double] {
        var p = [Double](repeating: 0, count: plan.parameterCount)
        var rng = SeededRandom(seed: seed)
        for layer in plan.denseLayers {
            let fanIn = Double(layer.fanIn), fanOut = Double(layer.fanOut)
            let w = layer.weight
            switch layer.initializer {
            case .default:
                let bound = 1 / fanIn.squareRoot()
                for i in w { p[i] = rng.uniform(-bound, bound) }
                if let b = layer.bias { for i in b { p[i] = rng.uniform(-bound, bound) } }
            case .zeros:
                break
            case .constant(let c):
                for i in w { p[i] = c }
            case .normal(let std):
                for i in w { p[i] = std * rng.gaussian() }
            case .uniform(let scale):
                for i in w { p[i] = rng.uniform(-scale, scale) }
            case .xavier:
                let bound = (6 / (fanIn + fanOut)).squareRoot()
                for i in w { p[i] = rng.uniform(-bound, bound) }
            case .kaiming:
                let std = (2 / fanIn).squareRoot()
                for i in w { p[i] = std * rng.gaussian() }
            case .orthogonal(let gain):
                let q = orthogonal(rows: layer.fanOut, columns: layer.fanIn, rng: &rng)
                for (k, i) in w.enumerated() { p[i] = gain * q[k] }
            }
        }
        for scale in plan.normScales { for i in scale { p[i] = 1 } }
        return p
    }

    /// A rows×columns row-major matrix with orthonormal rows (rows ≤ columns) or columns, by modified
    /// Gram–Schmidt on a Gaussian matrix (re-drawn on the measure-zero event of a dependent vector).
    static func orthogonal(rows: Int, columns: Int, rng: inout SeededRandom) -> [Double] {
        let count = min(rows, columns), length = max(rows, columns)
        var vectors = [[Double]]()
        while vectors.count < count {
            var v = (0..<length).map { _ in rng.gaussian() }
            for q in vectors {
                var d = 0.0
                for k in 0..<length { d += q[k] * v[k] }
                for k in 0..<length { v[k] -= d * q[k] }
            }
            var norm = 0.0
            for x in v { norm += x * x }
            norm = norm.squareRoot()
            if norm < 1e-8 { continue }
            vectors.append(v.map { $0 / norm })
        }
        var m = [Double](repeating: 0, count: rows * columns)
        for r in 0..<rows {
            for c in 0..<columns { m[r * columns + c] = rows <= columns ? vectors[r][c] : vectors[c][r] }
        }
        return m
    }
}
