import SaddleMath

/// The targets of a whole data set, kept in double precision.
public enum DatasetTargets: Sendable, Equatable {
    /// Row-major `sampleCount × width` real targets (mean squared error, binary cross-entropy).
    case regression([Double], width: Int)
    /// One class index in `0..<classCount` per sample (softmax cross-entropy).
    case classes([Int32], classCount: Int)
}

/// A data set held in memory: row-major inputs and their targets, in double precision.
///
/// A value type, shared freely between the server, runs and curvature requests. Every value is
/// finite and every label in range: the initializer checks, so loaders and generators cannot
/// hand out a data set that poisons training. Batches are converted to the model's precision.
public struct Dataset: Sendable, Equatable {
    public var name: String
    public let sampleCount: Int
    public let inputWidth: Int
    /// Row-major `sampleCount × inputWidth` inputs.
    public let inputs: [Double]
    public let targets: DatasetTargets
    /// Where the data came from: the files read or the generator and its parameters.
    public var provenance: String
    /// The inputs in single precision, converted on the first single-precision batch (see ``fill(_:indices:)``).
    private let singlePrecision = SinglePrecisionInputs()

    /// Equal names, provenance, inputs and targets (the single-precision copy is derived, so not compared).
    public static func == (a: Dataset, b: Dataset) -> Bool {
        a.name == b.name && a.provenance == b.provenance && a.inputWidth == b.inputWidth && a.inputs == b.inputs
            && a.targets == b.targets
    }

    /// Checks that `inputs` holds at least one row and `sampleCount × inputWidth` finite values, that targets have one
    /// row per sample and are finite, and that class labels lie in `0..<classCount`.
    public init(name: String, inputs: [Double], inputWidth: Int, targets: DatasetTargets, provenance: String)
        throws(DatasetError)
    {
        guard inputWidth > 0 else {
            throw DatasetError(.shapeMismatch, "data set \"\(name)\": input width must be positive, got \(inputWidth)")
        }
        guard inputs.count % inputWidth == 0 else {
            throw DatasetError(
                .shapeMismatch,
                "data set \"\(name)\": \(inputs.count) input values do not divide into rows of width \(inputWidth)")
        }
        let samples = inputs.count / inputWidth
        guard samples > 0 else {
            throw DatasetError(.shapeMismatch, "data set \"\(name)\" has no samples; give at least one row")
        }
        if let bad = inputs.firstIndex(where: { !$0.isFinite }) {
            throw DatasetError(
                .nonFinite,
                "data set \"\(name)\": input at row \(bad / inputWidth), column \(bad % inputWidth) is \(inputs[bad]); remove or impute non-finite values"
            )
        }
        switch targets {
        case .regression(let values, let width):
            guard width > 0, values.count == samples * width else {
                throw DatasetError(
                    .shapeMismatch,
                    "data set \"\(name)\": \(samples) samples need \(samples) target rows of width \(max(width, 1)), got \(values.count) values with width \(width)"
                )
            }
            if let bad = values.firstIndex(where: { !$0.isFinite }) {
                throw DatasetError(
                    .nonFinite,
                    "data set \"\(name)\": target at row \(bad / width), column \(bad % width) is \(values[bad]); remove or impute non-finite values"
                )
            }
        case .classes(let labels, let classCount):
            guard labels.count == samples else {
                throw DatasetError(
                    .shapeMismatch,
                    "data set \"\(name)\": \(samples) samples need \(samples) class labels, got \(labels.count)")
            }
            guard classCount >= 1 else {
                throw DatasetError(.badLabel, "data set \"\(name)\": class count must be positive, got \(classCount)")
            }
            if let bad = labels.firstIndex(where: { $0 < 0 || Int($0) >= classCount }) {
                throw DatasetError(
                    .badLabel,
                    "data set \"\(name)\": label at row \(bad) is \(labels[bad]), outside 0..<\(classCount); class labels must be indices 0…\(classCount - 1)"
                )
            }
        }
        self.name = name
        self.sampleCount = samples
        self.inputWidth = inputWidth
        self.inputs = inputs
        self.targets = targets
        self.provenance = provenance
    }

    /// The number of target columns (regression width) or classes.
    public var targetWidth: Int {
        switch targets {
        case .regression(_, let width): return width
        case .classes(_, let classCount): return classCount
        }
    }

    /// Whether the targets are class indices.
    public var isClassification: Bool {
        if case .classes = targets { return true }
        return false
    }

    /// Bytes held by inputs and targets (what the server counts against its memory budget). Not counted: the
    /// single-precision copy of the inputs (half the inputs' bytes) that the first `Float` batch builds.
    public var byteSize: Int {
        let targetBytes: Int
        switch targets {
        case .regression(let values, _): targetBytes = values.count * MemoryLayout<Double>.stride
        case .classes(let labels, _): targetBytes = labels.count * MemoryLayout<Int32>.stride
        }
        return inputs.count * MemoryLayout<Double>.stride + targetBytes
    }

    /// The samples at `indices` (in that order, repeats allowed) in precision `T`.
    /// Every index must lie in `0..<sampleCount` (a precondition: indices come from the sampler, not users).
    /// Values are rounded to `T` to nearest, exactly as `T(x)` does.
    // Called from other modules on every training step: specialized so the copy is not generic code.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func batch<T: BLASScalar>(indices: [Int], as type: T.Type = T.self) -> Batch<T> {
        var batch = Batch<T>(inputs: [], rows: 0, inputWidth: inputWidth, targets: .classes([]))
        fill(&batch, indices: indices)
        return batch
    }

    /// Overwrites `batch` with the samples at `indices`, as ``batch(indices:as:)`` builds them, reusing its
    /// arrays when they have the right sizes: a data pipeline that hands used batches back fills them again
    /// without allocating (no fresh pages to fault in, no zero-filling). Arrays shared with another owner are
    /// copied first (copy-on-write), so a batch still in use elsewhere is never overwritten.
    /// Every index must lie in `0..<sampleCount` (a precondition).
    ///
    /// In single precision the rows are copied from a `Float` copy of the inputs that the first such call
    /// builds and every copy of this data set shares (half the inputs' bytes more, kept as long as the data
    /// set): the same values as converting each batch, at half the memory traffic per batch.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func fill<T: BLASScalar>(_ batch: inout Batch<T>, indices: [Int]) {
        for i in indices { precondition(i >= 0 && i < sampleCount, "batch index \(i) outside 0..<\(sampleCount)") }
        batch.rows = indices.count
        batch.inputWidth = inputWidth
        if T.self == Float.self {
            var out = unsafeBitCast(batch.inputs, to: [Float].self)  // the same type: T is Float
            batch.inputs = []  // so that `out` is uniquely held
            singlePrecision.values(of: inputs).withUnsafeBufferPointer { source in
                gatherSameRows(source, width: inputWidth, indices: indices, into: &out)
            }
            batch.inputs = unsafeBitCast(out, to: [T].self)
        } else {
            inputs.withUnsafeBufferPointer { source in
                gatherRows(source, width: inputWidth, indices: indices, into: &batch.inputs)
            }
        }
        switch targets {
        case .regression(let values, let width):
            var y: [T] = []
            if case .dense(let old, let w) = batch.targets, w == width { y = old }
            batch.targets = .classes([])  // drops the enum's reference, so `y` is uniquely held when nothing else is
            values.withUnsafeBufferPointer { source in gatherRows(source, width: width, indices: indices, into: &y) }
            batch.targets = .dense(y, width: width)
        case .classes(let labels, _):
            var y: [Int32] = []
            if case .classes(let old) = batch.targets { y = old }
            batch.targets = .classes([])
            labels.withUnsafeBufferPointer { source in gatherSameRows(source, width: 1, indices: indices, into: &y) }
            batch.targets = .classes(y)
        }
    }
    /// The contiguous samples in `range` in precision `T`; the range must lie within `0..<sampleCount`.
    public func batch<T: BLASScalar>(range: Range<Int>, as type: T.Type = T.self) -> Batch<T> {
        batch(indices: Array(range), as: type)
    }

    /// All samples as one batch in precision `T` (full-batch loss, gradient and curvature).
    public func fullBatch<T: BLASScalar>(as type: T.Type = T.self) -> Batch<T> {
        batch(range: 0..<sampleCount, as: type)
    }
}
