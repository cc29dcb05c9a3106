import SaddleMath
import SaddleModels

/// Where a ``DataPipeline`` gets its samples: a fixed-size data set that builds a batch from a
/// list of sample indices. Called from loader threads, so it must be safe to call concurrently.
public protocol BatchSource<Scalar>: Sendable {
    associatedtype Scalar: BLASScalar
    /// Number of samples; indices passed to ``batch(indices:)`` are in `0..<sampleCount`.
    var sampleCount: Int { get }
    /// Number of classes for class-index targets (used by label corruption and histograms);
    /// nil when unknown (then the largest label in the batch + 1 is used) or not a classification set.
    var classCount: Int? { get }
    /// The samples at `indices`, in that order. May throw; the error ends the run with its message.
    func batch(indices: [Int]) throws -> Batch<Scalar>
    /// Overwrites `batch` (a batch this source built before, handed back by the trainer) with the samples at
    /// `indices`, reusing its storage where it can; the result must equal `batch(indices:)`'s. The default
    /// builds a new batch. Sources over large inputs implement it so that a pipeline recycles a few batch
    /// buffers instead of allocating (and faulting in) a fresh one per step.
    func fill(_ batch: inout Batch<Scalar>, indices: [Int]) throws
}

extension BatchSource {
    public var classCount: Int? { nil }
    public func fill(_ batch: inout Batch<Scalar>, indices: [Int]) throws { batch = try self.batch(indices: indices) }
}

/// A data set held in memory as one row-major input array and class labels or dense targets.
/// The simple ``BatchSource`` for tests and generated data sets.
public struct InMemorySource<Scalar: BLASScalar>: BatchSource {
    public let inputs: [Scalar]
    public let inputWidth: Int
    public let targets: Targets<Scalar>
    public let sampleCount: Int
    public let classCount: Int?

    /// - Precondition: `inputs.count` is a multiple of `inputWidth`, and `targets` has one row per sample.
    public init(inputs: [Scalar], inputWidth: Int, targets: Targets<Scalar>, classCount: Int? = nil) {
        precondition(inputWidth > 0 && inputs.count % inputWidth == 0, "inputs must hold whole rows")
        self.inputs = inputs
        self.inputWidth = inputWidth
        self.targets = targets
        self.sampleCount = inputs.count / inputWidth
        self.classCount = classCount
    }

    public func fill(_ batch: inout Batch<Scalar>, indices: [Int]) throws {
        let rowCount = indices.count
        guard batch.inputs.count == rowCount * inputWidth, batch.inputWidth == inputWidth,
            case .classes(var y) = batch.targets, case .classes(let labels) = targets, y.count == rowCount
        else { return batch = try self.batch(indices: indices) }
        batch.targets = .classes([])  // so that `y` is uniquely held
        inputs.withUnsafeBufferPointer { source in
            batch.inputs.withUnsafeMutableBufferPointer { out in
                guard let from = source.baseAddress, let to = out.baseAddress else { return }
                for (row, i) in indices.enumerated() {
                    precondition(i >= 0 && i < sampleCount, "batch index \(i) outside 0..<\(sampleCount)")
                    (to + row * inputWidth).update(from: from + i * inputWidth, count: inputWidth)
                }
            }
        }
        for (row, i) in indices.enumerated() { y[row] = labels[i] }
        batch.rows = rowCount
        batch.targets = .classes(y)
    }

    public func batch(indices: [Int]) throws -> Batch<Scalar> {
        var x: [Scalar] = []
        x.reserveCapacity(indices.count * inputWidth)
        for i in indices { x.append(contentsOf: inputs[(i * inputWidth)..<((i + 1) * inputWidth)]) }
        switch targets {
        case .classes(let labels):
            return Batch(inputs: x, rows: indices.count, inputWidth: inputWidth, targets: .classes(indices.map { labels[$0] }))
        case .dense(let values, let width):
            var y: [Scalar] = []
            y.reserveCapacity(indices.count * width)
            for i in indices { y.append(contentsOf: values[(i * width)..<((i + 1) * width)]) }
            return Batch(inputs: x, rows: indices.count, inputWidth: inputWidth, targets: .dense(y, width: width))
        }
    }
}
