/// Evidence in, ``Diagnosis`` out. Pure: no clock, no I/O, no randomness, no threads; the same evidence
/// and thresholds give the same diagnosis, down to the serialized JSON.
///
/// Inputs are taken from ``Evidence``, falling back to values derived from its history
/// (``HistoryAnalysis``): the gradient norm, loss and learning rate of the last record, the early
/// gradient scale, the loss trend, and the data-pipeline statistics. Names below are ``Thresholds``.
///
/// The decision procedure, in order; the first step that decides, decides:
///
/// 0. **Across ranks**, for a distributed run (``Evidence/ranks`` holds two or more summaries): non-finite
///    values on some ranks (**diverging**), a rank's loss drifting from the others' (**rankDivergence**),
///    batches repeating across epochs or ranks (**dataPipelineStall**), a rank computing (**straggler**) or
///    waiting for data (**dataPipelineStall**) well beyond the median rank — see ``Procedure/crossRank()``.
///    Otherwise the steps below run on the consensus history (``RankAnalysis/consensus(_:)``).
/// 1. **diverging** — a non-finite loss, gradient norm or eigenvalue now, or a non-finite loss or weight
///    norm in the trailing window; or sustained loss growth (relative change over `plateauWindow` above
///    `divergenceLossGrowth` *and* last-third median above first-third median by the same factor); or
///    gradient- or weight-norm growth above `divergenceNormGrowth` while the loss is not falling.
///    Growth does not count at the *edge of stability*: lr·λ_max within `edgeOfStability`·(1 ±
///    `edgeOfStabilityBand`) while the windowed loss still falls on average (least-squares slope < 0).
/// 2. **dataPipelineStall** — repeated-batch share ≥ `repeatedBatchShare` or mean normalized label entropy ≤
///    `labelEntropy` (the model sees little); or data-wait share ≥ `dataWaitShare` or throughput drop ≥
///    `throughputDrop` (each only with a mean data wait ≥ `dataWaitMinimum`) — except that when the gradient
///    is small (3) and curvature or a probe was measured, step 4 decides first and the timing items are
///    recorded without deciding: faster data would not carry a step further. Needs no curvature and no model.
/// 3. Gradient test. The gradient is *small* if ‖g‖ ≤ max(`smallGradientAbsolute`·max(1, |f|),
///    `smallGradientRelative`·early scale), the early scale being the median gradient norm of the first
///    `earlyWindow` steps (or ``Evidence/earlyGradNorm``).
/// 4. Small gradient, with s = max(|λ_max|, |λ_min|):
///    a. λ_min < −`negativeCurvature`·s (or, λ_min unknown, negative spectral mass >
///       `negativeSpectralMass`) → **saddle**.
///    b. An escape or perturbation probe lowered the loss by more than `escapeDecrease`·max(1, |f|) →
///       **saddle** (a negative direction the second-order test missed, e.g. a higher-order saddle
///       whose gradient and Hessian both vanish) — unless dead-ReLU share ≥ `deadFraction` or saturated
///       share ≥ `saturatedFraction`: those units already explain the flat gradient, and a finite-radius
///       probe's descent is the way out of the dead or saturated region, so c. decides (**plateau**).
///    c. s ≤ `flatSpectrum`·max(1, |f|) (all eigenvalues ≈ 0), or dead-ReLU share ≥ `deadFraction`, or
///       saturated share ≥ `saturatedFraction` → **plateau**.
///    d. λ_min known (≥ −tol·s) and some eigenvalue clearly positive → **localMinimum**: positive
///       semidefinite up to tolerance. Zero eigenvalues beside positive ones make a flat valley of
///       minima, which is a minimum, not a plateau (that needs *all* eigenvalues ≈ 0).
///    e. Curvature unknown: probes that found no descent → **localMinimum**; else a falling loss →
///       **progressing**; else → **plateau**.
/// 5. Gradient not small:
///    a. Edge of stability (as in 1) → **progressing**.
///    b. History with a loss falling by more than `plateauRelativeSlope` over the window, or no loss
///       history at all (a single point) → **progressing**.
///    c. Loss not falling: mean mini-batch gradient cosine < `cosineNoise`, noise scale / batch size >
///       `noiseScale`, lr·λ_max > `edgeOfStability` (outside the edge of stability), or λ_max/λ_min >
///       `conditionNumber` (both positive) → **noisyOrIllConditioned**.
///    d. Otherwise dead or saturated units → **plateau**; if such noise evidence was measured and all
///       of it speaks against noise (consistent gradients, a stable step) → **plateau** (the step is too
///       small for a flat stretch); if none was measured → **noisyOrIllConditioned**, with what is
///       missing listed.
///
/// Confidence = (0.5 + 0.5·m) · c, where m is the smallest strength among the decisive items (how far
/// each lies past its threshold: relative distance for signed values and shares, decades for
/// magnitudes such as gradient norms and spectrum scales, each capped at 1; a non-finite value is 1), and
/// c = max(0.6, 0.9^k) for k names in ``Diagnosis/missing``. A verdict reached on no decisive item has
/// m = 0.
public enum Diagnoser {
    /// Diagnoses `evidence` under `thresholds`.
    public static func diagnose(_ evidence: Evidence, thresholds: Thresholds = Thresholds()) -> Diagnosis {
        var run = Procedure(evidence: evidence, thresholds: thresholds)
        let (verdict, reason) = run.decide()
        return run.finish(verdict: verdict, reason: reason)
    }
}
