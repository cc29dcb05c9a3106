import SaddleMath

/// Loss, gradient and exact curvature products of one model architecture in precision `T`.
///
/// An evaluator owns reusable workspaces sized for the largest batch it has seen, so repeated calls
/// with batches no larger allocate nothing. It is deliberately not `Sendable`: use one per thread.
/// All matrix products go through BLAS GEMM on row-major `rows × features` activations.
///
/// Contracts shared by every method:
/// - `parameters` (and any direction `vector`) hold ``parameterCount`` values in ``Model/blocks`` order.
/// - The batch's input width must equal the model's; targets must fit the loss (dense targets of the
///   output width for `mse` and `binaryCrossEntropy`, class indices in `0..<outputWidth` for
///   `softmaxCrossEntropy`). Otherwise a ``ModelError/shapeMismatch(_:)`` says what is wrong.
/// - NaN or infinite inputs or parameters propagate into the results; nothing traps.
public final class Evaluator<T: BLASScalar> {
    let plan: ModelPlan
    /// The loss this evaluator computes.
    public let loss: Loss

    /// Rows the workspaces have room for.
    var capacity = 0
    /// The primal values and gradients the passes read and write: ``workspace`` for a plain call, a
    /// ``Linearization``'s own store while a product at a kept point runs.
    var primal: PrimalStore<T>
    /// The evaluator's own primal store, grown to the largest batch seen.
    var workspace: PrimalStore<T>
    /// Buffer 0's values: the current batch's inputs, read in place (never written).
    var input: UnsafeMutablePointer<T>
    /// The tangent (R-operator) workspace: R-values and R-gradients of every buffer and layernorm
    /// tangents.
    var arena: UnsafeMutablePointer<T>
    var arenaCount = 0
    var rValueOffset: [Int], rGradOffset: [Int]
    var normRHatOffset: [Int], normRInvStdOffset: [Int]
    /// A valid pointer to stand in for empty parameter vectors.
    let empty: UnsafeMutablePointer<T>

    init(plan: ModelPlan, loss: Loss) {
        self.plan = plan
        self.loss = loss
        let b = plan.bufferWidths.count
        rValueOffset = Array(repeating: 0, count: b)
        rGradOffset = rValueOffset
        normRHatOffset = Array(repeating: 0, count: plan.layerNormCount)
        normRInvStdOffset = normRHatOffset
        arena = .allocate(capacity: 1)
        arena.initialize(to: 0)
        arenaCount = 1
        empty = .allocate(capacity: 1)
        empty.initialize(to: 0)
        input = empty
        workspace = PrimalStore(plan: plan, rows: 0)
        primal = workspace
    }

    deinit {
        arena.deallocate()
        empty.deallocate()
    }

    public var parameterCount: Int { plan.parameterCount }
    public var inputWidth: Int { plan.bufferWidths[0] }
    public var outputWidth: Int { plan.outputWidth }

    /// Grows the workspaces to hold `rows` rows (zeroed, so the input's R-value stays 0).
    func reserve(rows: Int) {
        guard rows > capacity else { return }
        let rowsCap = max(rows, capacity * 2)
        var total = 0
        func take(_ count: Int) -> Int { defer { total += count }; return total }
        for (i, w) in plan.bufferWidths.enumerated() {
            rValueOffset[i] = take(w * rowsCap)
            rGradOffset[i] = take(w * rowsCap)
        }
        for node in plan.nodes {
            guard case .layerNorm(let n) = node else { continue }
            normRHatOffset[n.slot] = take(n.width * rowsCap)
            normRInvStdOffset[n.slot] = take(rowsCap)
        }
        arena.deallocate()
        arena = .allocate(capacity: total)
        arena.initialize(repeating: 0, count: total)
        arenaCount = total
        workspace = PrimalStore(plan: plan, rows: rowsCap)
        primal = workspace
        capacity = rowsCap
    }

    @inline(__always) func value(_ b: Int) -> UnsafeMutablePointer<T> {
        b == 0 ? input : primal.base + primal.valueOffset[b]
    }
    @inline(__always) func grad(_ b: Int) -> UnsafeMutablePointer<T> { primal.base + primal.gradOffset[b] }
    @inline(__always) func rValue(_ b: Int) -> UnsafeMutablePointer<T> { arena + rValueOffset[b] }
    @inline(__always) func rGrad(_ b: Int) -> UnsafeMutablePointer<T> { arena + rGradOffset[b] }
    @inline(__always) func normHat(_ slot: Int) -> UnsafeMutablePointer<T> { primal.base + primal.normHatOffset[slot] }
    @inline(__always) func normInvStd(_ slot: Int) -> UnsafeMutablePointer<T> {
        primal.base + primal.normInvStdOffset[slot]
    }
    @inline(__always) var lossAux: UnsafeMutablePointer<T> { primal.base + primal.lossAuxOffset }

    // MARK: Validation

    func check(parameters: Int, batch: Batch<T>, vector: Int? = nil) throws(ModelError) {
        if parameters != plan.parameterCount {
            throw .shapeMismatch("the model has \(plan.parameterCount) parameters, got a vector of \(parameters)")
        }
        if let vector, vector != plan.parameterCount {
            throw .shapeMismatch("the direction must have \(plan.parameterCount) entries (one per parameter), got \(vector)")
        }
        if batch.inputWidth != inputWidth {
            throw .shapeMismatch("the model takes inputs of width \(inputWidth), the batch has width \(batch.inputWidth)")
        }
        if batch.rows < 1 { throw .shapeMismatch("the batch is empty; give at least one row") }
        if batch.inputs.count != batch.rows * batch.inputWidth {
            throw .shapeMismatch(
                "the batch holds \(batch.inputs.count) input values, expected rows × width = \(batch.rows * batch.inputWidth)")
        }
        switch (loss, batch.targets) {
        case (.softmaxCrossEntropy, .classes(let classes)):
            if classes.count != batch.rows {
                throw .shapeMismatch("the batch has \(batch.rows) rows but \(classes.count) class targets")
            }
            for (i, c) in classes.enumerated() where c < 0 || Int(c) >= outputWidth {
                throw .shapeMismatch("class target \(c) at row \(i) is outside 0..<\(outputWidth) (the model's output width)")
            }
        case (.softmaxCrossEntropy, .dense):
            throw .shapeMismatch("softmaxCrossEntropy needs class-index targets, the batch has dense targets")
        case (_, .dense(let values, let width)):
            if width != outputWidth {
                throw .shapeMismatch("the model outputs width \(outputWidth), the targets have width \(width)")
            }
            if values.count != batch.rows * width {
                throw .shapeMismatch("the targets hold \(values.count) values, expected rows × width = \(batch.rows * width)")
            }
        case (_, .classes):
            throw .shapeMismatch("\(loss.rawValue) needs dense targets of width \(outputWidth), the batch has class indices")
        }
    }

    /// Runs `body` with the batch's inputs as buffer 0 (read in place, not copied) and the
    /// workspaces large enough for its rows.
    func withBatch<R>(_ batch: Batch<T>, _ body: () -> R) -> R {
        reserve(rows: batch.rows)
        return batch.inputs.withUnsafeBufferPointer { src in
            input = UnsafeMutablePointer(mutating: src.baseAddress ?? UnsafePointer(empty))
            defer { input = empty }
            return body()
        }
    }

    @inline(__always) func withPointer<R>(_ array: [T], _ body: (UnsafePointer<T>) -> R) -> R {
        array.withUnsafeBufferPointer { body($0.baseAddress ?? UnsafePointer(empty)) }
    }

    @inline(__always) func withMutablePointer<R>(_ array: inout [T], _ body: (UnsafeMutablePointer<T>) -> R) -> R {
        let fallback = empty
        return array.withUnsafeMutableBufferPointer { body($0.baseAddress ?? fallback) }
    }

    // MARK: Public evaluation

    /// The mean loss on the batch (see ``ModelSpec`` for each loss's convention).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func loss(parameters: [T], batch: Batch<T>) throws(ModelError) -> T {
        try check(parameters: parameters.count, batch: batch)
        return withBatch(batch) {
            withPointer(parameters) { p in
                forward(p, rows: batch.rows)
                return lossHead(batch.targets, rows: batch.rows, gradient: false)
            }
        }
    }

    /// The loss, with its exact gradient (backpropagation) written into `gradient`, which is resized to
    /// ``parameterCount`` if needed (the only allocation, and only then).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func lossAndGradient(parameters: [T], batch: Batch<T>, gradient: inout [T]) throws(ModelError) -> T {
        try check(parameters: parameters.count, batch: batch)
        if gradient.count != plan.parameterCount { gradient = Array(repeating: 0, count: plan.parameterCount) }
        return withBatch(batch) {
            withPointer(parameters) { p in
                forward(p, rows: batch.rows)
                let l = lossHead(batch.targets, rows: batch.rows, gradient: true)
                withMutablePointer(&gradient) { g in backward(p, rows: batch.rows, parameterGradient: g) }
                return l
            }
        }
    }

    /// H·v, the exact Hessian of the loss times `vector`, by Pearlmutter's R-operator (forward-mode
    /// over reverse-mode), written into `result` (resized if needed). Returns the loss.
    /// Runs the primal forward and backward passes first, then the R-passes: about 1.9 gradients on
    /// a 784-256-256-10 MLP. For many products at one point use ``linearize(parameters:batch:)`` and
    /// ``hessianVectorProduct(at:vector:into:)``, which skip the primal passes (about 1.35 gradients).
    /// Symmetric to rounding (v·Hw = w·Hv).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    @discardableResult
    public func hessianVectorProduct(parameters: [T], batch: Batch<T>, vector: [T], into result: inout [T])
        throws(ModelError) -> T
    {
        try check(parameters: parameters.count, batch: batch, vector: vector.count)
        return withBatch(batch) {
            let l = primalPasses(parameters, batch)
            tangentPasses(parameters, batch, vector, &result, gaussNewton: false)
            return l
        }
    }

    /// G·v = Jᵀ H_loss J v, the generalized Gauss–Newton matrix times `vector`, written into `result`.
    /// G is positive semidefinite (all three losses are convex in the outputs), so it never shows a
    /// saddle; compare with ``hessianVectorProduct(parameters:batch:vector:into:)``. Returns the loss.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    @discardableResult
    public func gaussNewtonVectorProduct(parameters: [T], batch: Batch<T>, vector: [T], into result: inout [T])
        throws(ModelError) -> T
    {
        try check(parameters: parameters.count, batch: batch, vector: vector.count)
        return withBatch(batch) {
            withPointer(parameters) { p in forward(p, rows: batch.rows) }
            let l = lossHead(batch.targets, rows: batch.rows, gradient: false)
            tangentPasses(parameters, batch, vector, &result, gaussNewton: true)
            return l
        }
    }

    // MARK: Products at a kept point

    /// Runs the primal passes at `parameters` on `batch` once and keeps what they leave (activations,
    /// activation inputs, backpropagated gradients, softmax probabilities) in a ``Linearization`` of
    /// its own, as `jax.linearize` does, so that every later product at that point costs only the
    /// R-forward and R-backward passes. The linearization holds
    /// ``linearizationBytes(rows:)`` bytes plus a copy of the parameters; it shares the batch's
    /// storage. It is tied to this evaluator.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func linearize(parameters: [T], batch: Batch<T>) throws(ModelError) -> Linearization<T> {
        try check(parameters: parameters.count, batch: batch)
        let store = PrimalStore<T>(plan: plan, rows: batch.rows)
        let l: T = withBatch(batch) {
            primal = store
            defer { primal = workspace }
            return primalPasses(parameters, batch)
        }
        return Linearization(owner: self, store: store, parameters: parameters, batch: batch, loss: l)
    }

    /// Bytes a ``Linearization`` of a batch of `rows` rows takes (besides the parameter copy): two
    /// values per unit per row (activation and its gradient) for every layer output, plus layernorm
    /// statistics and the loss head's outputs.
    public func linearizationBytes(rows: Int) -> Int { PrimalStore<T>.bytes(plan: plan, rows: rows) }

    /// H·v at the linearization's point and batch, without the primal passes. Equal to
    /// ``hessianVectorProduct(parameters:batch:vector:into:)`` at the same point, bit for bit (the
    /// same operations in the same order). Returns the loss at the point.
    /// - Throws: ``ModelError/shapeMismatch(_:)`` if the linearization came from another evaluator
    ///   or `vector` has the wrong length.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    @discardableResult
    public func hessianVectorProduct(at point: Linearization<T>, vector: [T], into result: inout [T])
        throws(ModelError) -> T
    {
        try product(at: point, vector: vector, into: &result, gaussNewton: false)
    }

    /// G·v at the linearization's point and batch, without the primal passes.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    @discardableResult
    public func gaussNewtonVectorProduct(at point: Linearization<T>, vector: [T], into result: inout [T])
        throws(ModelError) -> T
    {
        try product(at: point, vector: vector, into: &result, gaussNewton: true)
    }

    private func product(at point: Linearization<T>, vector: [T], into result: inout [T], gaussNewton: Bool)
        throws(ModelError) -> T
    {
        guard point.owner === self else {
            throw .shapeMismatch("the linearization was made by another evaluator; linearize with this one")
        }
        try check(parameters: point.parameters.count, batch: point.batch, vector: vector.count)
        withBatch(point.batch) {
            primal = point.store
            defer { primal = workspace }
            tangentPasses(point.parameters, point.batch, vector, &result, gaussNewton: gaussNewton)
        }
        return point.loss
    }

    // MARK: Passes

    /// Forward, loss head and the backward pass of the activation gradients (no parameter gradient)
    /// into ``primal``. Returns the loss.
    private func primalPasses(_ parameters: [T], _ batch: Batch<T>) -> T {
        withPointer(parameters) { p in
            forward(p, rows: batch.rows)
            let l = lossHead(batch.targets, rows: batch.rows, gradient: true)
            backward(p, rows: batch.rows, parameterGradient: nil)
            return l
        }
    }

    /// R-forward (J·v), H_loss·J·v at the output, then the R-backward of the true Hessian or the
    /// linear backward of the Gauss–Newton product. Reads ``primal``; writes only the tangent arena.
    private func tangentPasses(
        _ parameters: [T], _ batch: Batch<T>, _ vector: [T], _ result: inout [T],
        gaussNewton: Bool
    ) {
        if result.count != plan.parameterCount { result = Array(repeating: 0, count: plan.parameterCount) }
        withPointer(parameters) { p in
            withPointer(vector) { v in
                rForward(p, v, rows: batch.rows)
                lossCurvature(rows: batch.rows, into: rGrad(plan.outputBuffer))
                withMutablePointer(&result) { hv in rBackward(p, v, rows: batch.rows, hv: hv, gaussNewton: gaussNewton) }
            }
        }
    }
}
