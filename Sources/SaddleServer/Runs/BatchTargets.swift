import SaddleMath
import SaddleModels
import SaddleTraining

extension Batch {
    /// The batch with targets that suit `loss`: class labels become one 0/1 column for `mse` and
    /// `binaryCrossEntropy` (a one-output model on a two-class data set), exactly as ``Objective``
    /// builds its batches, so a run trains the same loss that curvature requests measure.
    /// Other targets are returned unchanged.
    func suiting(_ loss: Loss) -> Batch<T> where T: BLASScalar {
        guard loss != .softmaxCrossEntropy, case .classes(let labels) = targets else { return self }
        var batch = self
        batch.targets = .dense(labels.map { T($0) }, width: 1)
        return batch
    }
}

/// A ``BatchSource`` over a workspace ``Dataset``: batches keep the data set's targets (class labels
/// stay labels, so the pipeline's label histograms and label-corruption faults work); the gradient
/// function converts them with ``Batch/suiting(_:)``.
struct DatasetBatchSource<Scalar: BLASScalar>: BatchSource {
    let dataset: Dataset
    var sampleCount: Int { dataset.sampleCount }
    var classCount: Int? {
        if case .classes(_, let count) = dataset.targets { return count }
        return nil
    }
    func batch(indices: [Int]) throws -> Batch<Scalar> { dataset.batch(indices: indices) }
    func fill(_ batch: inout Batch<Scalar>, indices: [Int]) { dataset.fill(&batch, indices: indices) }
}
