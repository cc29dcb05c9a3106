/// Why training has stalled — or that it has not. The raw values are the wire names and never change.
public enum Verdict: String, Sendable, CaseIterable, Equatable, Hashable {
    /// Gradient small, and a descent direction exists: negative curvature, or a probe found lower loss.
    case saddle
    /// Gradient small, Hessian positive semidefinite up to tolerance, and no probe found descent.
    case localMinimum
    /// Gradient small and the landscape flat: spectrum ≈ 0, dead or saturated units, no descent found.
    case plateau
    /// Gradient not small but the loss does not fall: noisy mini-batch gradients or a step too large
    /// for the curvature (lr·λ_max > 2 outside the edge-of-stability regime).
    case noisyOrIllConditioned
    /// Non-finite values, or sustained growth of the loss or of gradient / weight norms.
    case diverging
    /// The model waits for data or sees little: data-wait share, throughput drop, repeated batches,
    /// one-label batches.
    case dataPipelineStall
    /// Distributed runs: one or a few ranks compute far longer than the others, which wait for them at
    /// every all-reduce.
    case straggler
    /// Distributed runs: a rank's loss drifts away from the other ranks' (replicas out of sync).
    case rankDivergence
    /// The loss falls (or, for a single point, the gradient is not small).
    case progressing
}
