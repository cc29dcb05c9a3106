/// Targets of a batch: dense targets (regression, binary labels) or class indices.
public enum Targets<T: Sendable>: Sendable {
    /// Row-major `rows × width` values, for mean squared error and binary cross-entropy.
    case dense([T], width: Int)
    /// One class index per row, for softmax cross-entropy.
    case classes([Int32])
}

/// A batch of samples in one precision: row-major inputs and their targets.
///
/// Data sets hand out batches; models compute loss, gradient and curvature on them.
public struct Batch<T: Sendable>: Sendable {
    /// Row-major `rows × inputWidth` inputs.
    public var inputs: [T]
    public var rows: Int
    public var inputWidth: Int
    public var targets: Targets<T>

    public init(inputs: [T], rows: Int, inputWidth: Int, targets: Targets<T>) {
        precondition(inputs.count == rows * inputWidth, "inputs must hold rows × inputWidth values")
        self.inputs = inputs
        self.rows = rows
        self.inputWidth = inputWidth
        self.targets = targets
    }
}
