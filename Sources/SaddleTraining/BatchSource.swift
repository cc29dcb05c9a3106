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
}

extension BatchSource {
    public var classCount: Int? { nil }
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
