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
public final class Objective {
    private enum Engine {
        case float(Evaluator<Float>, [Batch<Float>])
        case double(Evaluator<Double>, [Batch<Double>])
    }

    public let precision: Precision
    public let parameterCount: Int
    /// How many samples the objective averages over.
    public let sampleCount: Int
    private let engine: Engine
    private let weights: [Double]
    private let blocks: [ParameterBlock]

    /// - Throws: ``ModelError/shapeMismatch(_:)`` when the data set does not fit the model (input
    ///   width, target kind or width) or the selection is out of range.
    public init(model: Model, dataset: Dataset, samples: SampleSelection = .all, precision: Precision,
                chunkSize: Int = 4096) throws(ModelError) {
        guard dataset.inputWidth == model.inputWidth else {
            throw .shapeMismatch("data set \"\(dataset.name)\" has \(dataset.inputWidth) input features but the model takes \(model.inputWidth)")
        }
        switch (model.spec.loss, dataset.targets) {
        case (.softmaxCrossEntropy, .classes(_, let classCount)):
            guard classCount <= model.outputWidth else {
                throw .shapeMismatch("data set \"\(dataset.name)\" has \(classCount) classes but the model outputs \(model.outputWidth) logits")
            }
        case (.softmaxCrossEntropy, .regression):
            throw .shapeMismatch("softmaxCrossEntropy needs class labels, but data set \"\(dataset.name)\" has real-valued targets; use loss \"mse\" or load labels as classes")
        case (.mse, .regression(_, let width)), (.binaryCrossEntropy, .regression(_, let width)):
            guard width == model.outputWidth else {
                throw .shapeMismatch("data set \"\(dataset.name)\" has \(width) target columns but the model outputs \(model.outputWidth)")
            }
        case (.mse, .classes), (.binaryCrossEntropy, .classes):
            guard model.outputWidth == 1 else {
                throw .shapeMismatch("\(model.spec.loss.rawValue) on class labels needs a model with one output; data set \"\(dataset.name)\" has class labels and the model outputs \(model.outputWidth)")
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
        switch precision {
        case .float:
            engine = .float(model.makeEvaluator(Float.self), chunks.map { Objective.batch(dataset, $0, model) })
        case .double:
            engine = .double(model.makeEvaluator(Double.self), chunks.map { Objective.batch(dataset, $0, model) })
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
        case .float(let e, let batches):
            let p = parameters.map { Float($0) }
            for (b, w) in zip(batches, weights) { total += w * Double(try e.loss(parameters: p, batch: b)) }
        case .double(let e, let batches):
            for (b, w) in zip(batches, weights) { total += w * (try e.loss(parameters: parameters, batch: b)) }
        }
        return total
    }

    /// The mean loss and its exact gradient at `parameters`.
    public func gradient(_ parameters: [Double]) throws(ModelError) -> (loss: Double, gradient: [Double]) {
        try check(parameters, "the parameter vector")
        var total = 0.0
        var sum = [Double](repeating: 0, count: parameterCount)
        switch engine {
        case .float(let e, let batches):
            let p = parameters.map { Float($0) }
            var g: [Float] = []
            for (b, w) in zip(batches, weights) {
                total += w * Double(try e.lossAndGradient(parameters: p, batch: b, gradient: &g))
                for i in 0..<parameterCount { sum[i] += w * Double(g[i]) }
            }
        case .double(let e, let batches):
            var g: [Double] = []
            for (b, w) in zip(batches, weights) {
                total += w * (try e.lossAndGradient(parameters: parameters, batch: b, gradient: &g))
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
        case .float(let e, let batches):
            let p = parameters.map { Float($0) }, v = vector.map { Float($0) }
            var out: [Float] = []
            for (b, w) in zip(batches, weights) {
                if gaussNewton {
                    try e.gaussNewtonVectorProduct(parameters: p, batch: b, vector: v, into: &out)
                } else {
                    try e.hessianVectorProduct(parameters: p, batch: b, vector: v, into: &out)
                }
                for i in 0..<parameterCount { sum[i] += w * Double(out[i]) }
            }
        case .double(let e, let batches):
            var out: [Double] = []
            for (b, w) in zip(batches, weights) {
                if gaussNewton {
                    try e.gaussNewtonVectorProduct(parameters: parameters, batch: b, vector: vector, into: &out)
                } else {
                    try e.hessianVectorProduct(parameters: parameters, batch: b, vector: vector, into: &out)
                }
                for i in 0..<parameterCount { sum[i] += w * out[i] }
            }
        }
        return sum
    }

    /// Loss, gradient norms per block and activation statistics. Loss and gradient cover every
    /// sample; dead and saturated unit fractions are measured on the first chunk of samples.
    public func statistics(_ parameters: [Double]) throws(ModelError) -> ModelStatistics {
        try check(parameters, "the parameter vector")
        var stats: ModelStatistics
        switch engine {
        case .float(let e, let batches):
            guard let first = batches.first else { throw .shapeMismatch("no samples selected") }
            stats = try e.statistics(parameters: parameters.map { Float($0) }, batch: first)
        case .double(let e, let batches):
            guard let first = batches.first else { throw .shapeMismatch("no samples selected") }
            stats = try e.statistics(parameters: parameters, batch: first)
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
