import SaddleMath

/// The precision a computation runs in: `float` for speed (training), `double` for analysis.
public enum Precision: String, Sendable, CaseIterable {
    case float, double
}

/// Which samples of a data set an objective averages over.
public enum SampleSelection: Sendable, Equatable {
    case all
    /// `count` samples from `start`.
    case range(start: Int, count: Int)
    case indices([Int])

    /// The sample indices, checked against a data set of `sampleCount` samples.
    public func resolve(sampleCount: Int) throws(ModelError) -> [Int] {
        switch self {
        case .all:
            return Array(0..<sampleCount)
        case .range(let start, let count):
            guard start >= 0, count > 0, start + count <= sampleCount else {
                throw .shapeMismatch("sample range [\(start), \(start + count)) is outside the data set's \(sampleCount) samples")
            }
            return Array(start..<(start + count))
        case .indices(let indices):
            guard !indices.isEmpty else { throw .shapeMismatch("the sample index list is empty; give at least one index") }
            if let bad = indices.first(where: { $0 < 0 || $0 >= sampleCount }) {
                throw .shapeMismatch("sample index \(bad) is outside the data set's \(sampleCount) samples")
            }
            return indices
        }
    }
}

/// A model's loss on a fixed set of samples, as a function of a flat parameter vector in double
/// precision: the mean loss, its exact gradient, and exact Hessian- and Gauss–Newton-vector products.
///
/// This is the one bridge from models to the curvature algorithms and the diagnosis: every
/// Hessian-vector product the daemon computes goes through ``hessianVectorProduct(_:_:)``. Samples
/// are evaluated in chunks (so memory stays bounded) and chunk results are averaged with weights
/// proportional to their sample counts, which gives exactly the mean over all samples for every
/// loss Saddle has (each is a mean over rows). Not thread-safe: one objective per thread.
///
/// Curvature products are linearized (as `jax.linearize` does): the first product at a parameter
/// vector runs the primal forward and backward passes and keeps, per chunk, what they leave (a
/// ``Linearization``); further products at the same parameters run only the R-passes (about 1.35
/// gradients each on an MLP instead of about 1.9). Lanczos, power iteration, Hutchinson and SLQ
/// apply many products at one point. The kept point is compared with the parameters of every
/// call, element by element (a cheap identity check first), so a changed parameter vector always
/// gets fresh products; a NaN parameter never matches, so it is never served from the cache.
/// Memory: chunks are kept while their total stays within `linearizationBudget` bytes (see
/// ``linearizationBytes``); chunks beyond it are computed afresh for every product, which gives the
/// same numbers.
public final class Objective {
    private enum Engine {
        case float(Chunks<Float>)
        case double(Chunks<Double>)
    }

    public let precision: Precision
    public let parameterCount: Int
    /// How many samples the objective averages over.
    public let sampleCount: Int
    /// The most bytes of kept linearizations (activations and gradients of every chunk) this
    /// objective holds; 0 turns the cache off.
    public let linearizationBudget: Int
    private let engine: Engine
    private let weights: [Double]
    private let blocks: [ParameterBlock]

    /// Bytes of kept primal passes an objective may hold by default (80 MiB).
    public static let defaultLinearizationBudget = 80 << 20

    /// - Parameters:
    ///   - chunkSize: samples evaluated at once; bounds the evaluator's workspace.
    ///   - linearizationBudget: bytes of kept primal passes for curvature products (default 80 MiB:
    ///     a 784-256-256-10 MLP in Double keeps 16.6 kB per sample, so one default chunk of 4,096
    ///     samples, 68 MB, fits). It is allocated at the first product and freed with the objective;
    ///     a caller that keeps several objectives alive at once should budget for each.
    /// - Throws: ``ModelError/shapeMismatch(_:)`` when the data set does not fit the model (input
    ///   width, target kind or width) or the selection is out of range.
    public init(
        model: Model, dataset: Dataset, samples: SampleSelection = .all, precision: Precision,
        chunkSize: Int = 4096, linearizationBudget: Int = Objective.defaultLinearizationBudget
    )
        throws(ModelError)
    {
        guard dataset.inputWidth == model.inputWidth else {
            throw .shapeMismatch(
                "data set \"\(dataset.name)\" has \(dataset.inputWidth) input features but the model takes \(model.inputWidth)")
        }
        switch (model.spec.loss, dataset.targets) {
        case (.softmaxCrossEntropy, .classes(_, let classCount)):
            guard classCount <= model.outputWidth else {
                throw .shapeMismatch(
                    "data set \"\(dataset.name)\" has \(classCount) classes but the model outputs \(model.outputWidth) logits")
            }
        case (.softmaxCrossEntropy, .regression):
            throw .shapeMismatch(
                "softmaxCrossEntropy needs class labels, but data set \"\(dataset.name)\" has real-valued targets; use loss \"mse\" or load labels as classes"
            )
        case (.mse, .regression(_, let width)), (.binaryCrossEntropy, .regression(_, let width)):
            guard width == model.outputWidth else {
                throw .shapeMismatch(
                    "data set \"\(dataset.name)\" has \(width) target columns but the model outputs \(model.outputWidth)")
            }
        case (.mse, .classes), (.binaryCrossEntropy, .classes):
            guard model.outputWidth == 1 else {
                throw .shapeMismatch(
                    "\(model.spec.loss.rawValue) on class labels needs a model with one output; data set \"\(dataset.name)\" has class labels and the model outputs \(model.outputWidth)"
                )
            }
        }
        let indices = try samples.resolve(sampleCount: dataset.sampleCount)
        let chunks = stride(from: 0, to: indices.count, by: max(1, chunkSize)).map {
            Array(indices[$0..<min($0 + chunkSize, indices.count)])
        }
        self.precision = precision
        self.parameterCount = model.parameterCount
        self.sampleCount = indices.count
        self.blocks = model.blocks
        self.weights = chunks.map { Double($0.count) / Double(indices.count) }
        self.linearizationBudget = max(0, linearizationBudget)
        switch precision {
        case .float:
            engine = .float(Chunks(model.makeEvaluator(Float.self), chunks.map { Objective.batch(dataset, $0, model) }))
        case .double:
            engine = .double(Chunks(model.makeEvaluator(Double.self), chunks.map { Objective.batch(dataset, $0, model) }))
        }
    }

    /// A batch whose targets suit the model's loss (class labels become 0/1 columns for a one-output model).
    private static func batch<T: BLASScalar>(_ dataset: Dataset, _ indices: [Int], _ model: Model) -> Batch<T> {
        var batch: Batch<T> = dataset.batch(indices: indices)
        if model.spec.loss != .softmaxCrossEntropy, case .classes(let labels) = batch.targets {
            batch.targets = .dense(labels.map { T($0) }, width: 1)
        }
        return batch
    }

    private func check(_ vector: [Double], _ what: String) throws(ModelError) {
        guard vector.count == parameterCount else {
            throw .shapeMismatch("\(what) has \(vector.count) values but the model has \(parameterCount) parameters")
        }
    }

    /// The mean loss at `parameters`.
    public func loss(_ parameters: [Double]) throws(ModelError) -> Double {
        try check(parameters, "the parameter vector")
        var total = 0.0
        switch engine {
        case .float(let c):
            let p = parameters.map { Float($0) }
            for (b, w) in zip(c.batches, weights) { total += w * Double(try c.evaluator.loss(parameters: p, batch: b)) }
        case .double(let c):
            for (b, w) in zip(c.batches, weights) { total += w * (try c.evaluator.loss(parameters: parameters, batch: b)) }
        }
        return total
    }

    /// The mean loss and its exact gradient at `parameters`.
    public func gradient(_ parameters: [Double]) throws(ModelError) -> (loss: Double, gradient: [Double]) {
        try check(parameters, "the parameter vector")
        var total = 0.0
        var sum = [Double](repeating: 0, count: parameterCount)
        switch engine {
        case .float(let c):
            let p = parameters.map { Float($0) }
            var g: [Float] = []
            for (b, w) in zip(c.batches, weights) {
                total += w * Double(try c.evaluator.lossAndGradient(parameters: p, batch: b, gradient: &g))
                for i in 0..<parameterCount { sum[i] += w * Double(g[i]) }
            }
        case .double(let c):
            var g: [Double] = []
            for (b, w) in zip(c.batches, weights) {
                total += w * (try c.evaluator.lossAndGradient(parameters: parameters, batch: b, gradient: &g))
                sum.withUnsafeMutableBufferPointer { s in
                    g.withUnsafeBufferPointer { gp in
                        if let sb = s.baseAddress, let gb = gp.baseAddress { Double.axpy(count: s.count, alpha: w, x: gb, y: sb) }
                    }
                }
            }
        }
        return (total, sum)
    }

    /// The exact Hessian-vector product H·v at `parameters` (Pearlmutter's R-operator).
    public func hessianVectorProduct(_ parameters: [Double], _ vector: [Double]) throws(ModelError) -> [Double] {
        try product(parameters, vector, gaussNewton: false)
    }

    /// The Gauss–Newton-vector product G·v = Jᵀ H_loss J v at `parameters` (positive semidefinite).
    public func gaussNewtonVectorProduct(_ parameters: [Double], _ vector: [Double]) throws(ModelError) -> [Double] {
        try product(parameters, vector, gaussNewton: true)
    }

    private func product(_ parameters: [Double], _ vector: [Double], gaussNewton: Bool) throws(ModelError) -> [Double] {
        try check(parameters, "the parameter vector")
        try check(vector, "the vector")
        var sum = [Double](repeating: 0, count: parameterCount)
        switch engine {
        case .float(let c):
            let v = vector.map { Float($0) }
            var out: [Float] = []
            try c.linearize(at: parameters, budget: linearizationBudget) { Float($0) }
            for (i, w) in weights.enumerated() {
                try c.product(chunk: i, vector: v, into: &out, gaussNewton: gaussNewton)
                for j in 0..<parameterCount { sum[j] += w * Double(out[j]) }
            }
        case .double(let c):
            var out: [Double] = []
            try c.linearize(at: parameters, budget: linearizationBudget) { $0 }
            for (i, w) in weights.enumerated() {
                try c.product(chunk: i, vector: vector, into: &out, gaussNewton: gaussNewton)
                for j in 0..<parameterCount { sum[j] += w * out[j] }
            }
        }
        return sum
    }

    /// Bytes of linearizations this objective holds now (at most ``linearizationBudget``).
    public var linearizationBytes: Int {
        switch engine {
        case .float(let c): return c.keptBytes
        case .double(let c): return c.keptBytes
        }
    }

    /// How many chunks have a kept linearization now (the others are recomputed for every product).
    public var linearizedChunkCount: Int {
        switch engine {
        case .float(let c): return c.kept.lazy.filter { $0 != nil }.count
        case .double(let c): return c.kept.lazy.filter { $0 != nil }.count
        }
    }

    /// How many chunks the samples are evaluated in.
    public var chunkCount: Int { weights.count }

    /// Loss, gradient norms per block and activation statistics. Loss and gradient cover every
    /// sample; dead and saturated unit fractions are measured on the first chunk of samples.
    public func statistics(_ parameters: [Double]) throws(ModelError) -> ModelStatistics {
        try check(parameters, "the parameter vector")
        var stats: ModelStatistics
        switch engine {
        case .float(let c):
            guard let first = c.batches.first else { throw .shapeMismatch("no samples selected") }
            stats = try c.evaluator.statistics(parameters: parameters.map { Float($0) }, batch: first)
        case .double(let c):
            guard let first = c.batches.first else { throw .shapeMismatch("no samples selected") }
            stats = try c.evaluator.statistics(parameters: parameters, batch: first)
        }
        if weights.count > 1 {
            let (loss, gradient) = try self.gradient(parameters)
            stats.loss = loss
            stats.gradientNorm = Vector.norm(gradient)
            stats.blockGradientNorms = blocks.map { block in
                block.range.reduce(0.0) { $0 + gradient[$1] * gradient[$1] }.squareRoot()
            }
        }
        return stats
    }
}

/// One precision's evaluator, its chunks of samples, and the linearizations kept for them at one
/// parameter vector.
private final class Chunks<T: BLASScalar> {
    let evaluator: Evaluator<T>
    let batches: [Batch<T>]
    /// The point the kept linearizations belong to (the caller's Double vector); empty when none.
    private var point: [Double] = []
    /// The point in `T`, for chunks computed afresh.
    private var parameters: [T] = []
    private(set) var kept: [Linearization<T>?]
    private(set) var keptBytes = 0

    init(_ evaluator: Evaluator<T>, _ batches: [Batch<T>]) {
        self.evaluator = evaluator
        self.batches = batches
        kept = Array(repeating: nil, count: batches.count)
    }

    /// Makes the kept linearizations those of `at`: keeps them if `at` equals the kept point,
    /// otherwise drops them and linearizes every chunk that fits in `budget` bytes.
    func linearize(at point: [Double], budget: Int, _ convert: (Double) -> T) throws(ModelError) {
        if Chunks.same(point, self.point) { return }
        kept = Array(repeating: nil, count: batches.count)
        keptBytes = 0
        self.point = []
        parameters = point.map(convert)
        for (i, b) in batches.enumerated() {
            let bytes = evaluator.linearizationBytes(rows: b.rows)
            guard keptBytes + bytes <= budget else { continue }
            kept[i] = try evaluator.linearize(parameters: parameters, batch: b)
            keptBytes += bytes
        }
        // A point with NaN never matches (NaN ≠ NaN), so it is not kept as one.
        self.point = point.contains { $0.isNaN } ? [] : point
    }

    /// The product on chunk `i` at the current point: from its linearization if kept, else afresh.
    func product(chunk i: Int, vector: [T], into out: inout [T], gaussNewton: Bool) throws(ModelError) {
        if let lin = kept[i] {
            if gaussNewton {
                try evaluator.gaussNewtonVectorProduct(at: lin, vector: vector, into: &out)
            } else {
                try evaluator.hessianVectorProduct(at: lin, vector: vector, into: &out)
            }
        } else if gaussNewton {
            try evaluator.gaussNewtonVectorProduct(parameters: parameters, batch: batches[i], vector: vector, into: &out)
        } else {
            try evaluator.hessianVectorProduct(parameters: parameters, batch: batches[i], vector: vector, into: &out)
        }
    }

    /// Whether `a` equals the kept point `b` (which holds no NaN) element by element. Array's `==`
    /// answers without a look when both share one buffer, which is sound: an array's elements
    /// cannot change while another array shares its buffer (copy on write).
    static func same(_ a: [Double], _ b: [Double]) -> Bool {
        !b.isEmpty && a == b
    }
}
