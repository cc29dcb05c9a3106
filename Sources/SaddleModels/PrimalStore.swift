import SaddleMath

/// What the forward and backward passes leave behind for one batch at one parameter vector: every
/// buffer's values and gradients (but the input's, which stay in the batch), each layernorm's
/// normalized values and inverse standard deviations, and the loss head's auxiliary values (softmax
/// probabilities, sigmoids). The R-operator passes read it and never write it, so it can be kept and
/// reused for many Hessian-vector products (see ``Linearization``).
final class PrimalStore<T: BLASScalar> {
    /// Rows the store has room for.
    let rows: Int
    let base: UnsafeMutablePointer<T>
    /// Number of scalars allocated.
    let count: Int
    private(set) var valueOffset: [Int], gradOffset: [Int]
    private(set) var normHatOffset: [Int], normInvStdOffset: [Int]
    private(set) var lossAuxOffset = 0

    init(plan: ModelPlan, rows: Int) {
        self.rows = rows
        let buffers = plan.bufferWidths.count
        valueOffset = Array(repeating: 0, count: buffers)
        gradOffset = valueOffset
        normHatOffset = Array(repeating: 0, count: plan.layerNormCount)
        normInvStdOffset = normHatOffset
        var total = 0
        func take(_ n: Int) -> Int { defer { total += n }; return total }
        // Buffer 0 is the batch's own input: no copy, and its gradient is never formed.
        for (i, w) in plan.bufferWidths.enumerated() where i > 0 {
            valueOffset[i] = take(w * rows)
            gradOffset[i] = take(w * rows)
        }
        for node in plan.nodes {
            guard case .layerNorm(let n) = node else { continue }
            normHatOffset[n.slot] = take(n.width * rows)
            normInvStdOffset[n.slot] = take(rows)
        }
        lossAuxOffset = take(plan.outputWidth * rows)
        count = max(total, 1)
        base = .allocate(capacity: count)
        base.initialize(repeating: 0, count: count)
    }

    deinit { base.deallocate() }

    /// Bytes a store for `rows` rows of `plan` takes, for memory budgets.
    static func bytes(plan: ModelPlan, rows: Int) -> Int {
        var perRow = 0
        for (i, w) in plan.bufferWidths.enumerated() where i > 0 { perRow += 2 * w }
        for node in plan.nodes {
            guard case .layerNorm(let n) = node else { continue }
            perRow += n.width + 1
        }
        perRow += plan.outputWidth
        return max(perRow * rows, 1) * MemoryLayout<T>.stride
    }
}
