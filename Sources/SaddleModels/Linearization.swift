import SaddleMath

/// A model linearized at one parameter vector on one batch: the primal forward and backward passes
/// done once and kept, so that Hessian- and Gauss–Newton-vector products at that point need only the
/// R-forward and R-backward passes — what `jax.linearize` does for forward-over-reverse products.
/// Lanczos, power iteration, Hutchinson and SLQ apply many products at one point, and each costs
/// about 1.35 gradients this way instead of about 1.9.
///
/// Made by ``Evaluator/linearize(parameters:batch:)`` and usable only with that evaluator. It is
/// immutable: it holds its own copy of the parameters, so a later change to the caller's parameter
/// vector cannot make it serve stale products; a new point needs a new linearization.
/// Memory: ``bytes`` (two values per unit per row for every layer output, plus layernorm statistics
/// and the loss head's outputs), plus the parameter copy; the batch is shared, not copied.
public final class Linearization<T: BLASScalar> {
    let owner: AnyObject
    let store: PrimalStore<T>
    /// The point the model is linearized at.
    public let parameters: [T]
    /// The batch it is linearized on.
    public let batch: Batch<T>
    /// The mean loss at the point on the batch.
    public let loss: T

    init(owner: AnyObject, store: PrimalStore<T>, parameters: [T], batch: Batch<T>, loss: T) {
        self.owner = owner
        self.store = store
        self.parameters = parameters
        self.batch = batch
        self.loss = loss
    }

    /// Bytes of kept activations and gradients (the parameter copy not included).
    public var bytes: Int { store.count * MemoryLayout<T>.stride }
}
