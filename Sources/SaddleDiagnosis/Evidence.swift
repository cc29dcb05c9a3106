/// One training step as the diagnosis sees it. Every field but `step` and `loss` is optional: a run
/// ingested from an external loop reports what it has. Times are seconds; NaN and infinities are
/// allowed (they are evidence of divergence).
public struct StepRecord: Sendable, Equatable {
    public var step: Int
    /// Mini-batch (or full) loss at this step.
    public var loss: Double
    /// ‖∇f‖₂ at this step.
    public var gradNorm: Double?
    /// Learning rate used for this step.
    public var learningRate: Double?
    /// ‖θ‖₂ after this step (growth is a divergence signal).
    public var weightNorm: Double?
    /// Seconds the step waited for its batch.
    public var dataWait: Double?
    /// Seconds the step spent computing (forward, backward, update).
    public var compute: Double?
    /// Samples per second for this step.
    public var throughput: Double?
    /// A hash of the batch contents; equal fingerprints mean the same batch was fed again.
    public var fingerprint: String?
    /// Count of each label in the batch (index = class); one non-zero bin means a one-label batch.
    public var labelHistogram: [Int]?
    /// The epoch of the step, when known (a batch repeated within an epoch is a stall; across epochs it
    /// may be full-batch training).
    public var epoch: Int?
    /// Seconds the step waited in the gradient all-reduce (distributed runs; where it can be measured).
    public var allreduceWait: Double?

    public init(
        step: Int, loss: Double, gradNorm: Double? = nil, learningRate: Double? = nil,
        weightNorm: Double? = nil, dataWait: Double? = nil, compute: Double? = nil,
        throughput: Double? = nil, fingerprint: String? = nil, labelHistogram: [Int]? = nil,
        epoch: Int? = nil, allreduceWait: Double? = nil
    ) {
        self.epoch = epoch
        self.allreduceWait = allreduceWait
        self.step = step
        self.loss = loss
        self.gradNorm = gradNorm
        self.learningRate = learningRate
        self.weightNorm = weightNorm
        self.dataWait = dataWait
        self.compute = compute
        self.throughput = throughput
        self.fingerprint = fingerprint
        self.labelHistogram = labelHistogram
    }
}

/// Counts of Hessian eigenvalues below −tol, within ±tol, and above tol (tol relative to |λ|max),
/// where the whole spectrum is known (small models).
public struct EigenvalueCounts: Sendable, Equatable {
    public var negative: Int
    public var zero: Int
    public var positive: Int
    public init(negative: Int, zero: Int, positive: Int) {
        self.negative = negative
        self.zero = zero
        self.positive = positive
    }
    public var total: Int { negative + zero + positive }
}

/// Everything the diagnosis may weigh. All fields are optional: a run ingested from outside has no
/// model (so no curvature), a single point has no history. The diagnosis uses what is present and lists
/// in ``Diagnosis/missing`` what would have sharpened the verdict.
///
/// Where a field is absent but the history holds it (gradient norm, loss, learning rate, data-wait
/// share, throughput change, repeated batches, label entropy), the diagnosis derives it from the history
/// (see ``HistoryAnalysis``); an explicit field wins over the derived value.
public struct Evidence: Sendable, Equatable {
    /// ‖∇f(θ)‖₂ now.
    public var gradNorm: Double?
    /// The gradient-norm scale early in training (e.g. the median of the first steps' norms); a gradient
    /// is "small" relative to it. Derived from the history when absent.
    public var earlyGradNorm: Double?
    /// f(θ) now.
    public var loss: Double?
    /// Largest (algebraic) Hessian eigenvalue.
    public var lambdaMax: Double?
    /// Smallest (algebraic) Hessian eigenvalue.
    public var lambdaMin: Double?
    /// λ_min / λ_max as reported by the curvature code (informational; derived when absent).
    public var spectralRatio: Double?
    /// Share in [0, 1] of the spectral density below −tol (e.g. from stochastic Lanczos quadrature).
    public var negativeSpectralMass: Double?
    /// tr(H).
    public var hessianTrace: Double?
    /// Eigenvalue counts where the whole spectrum is known.
    public var eigenvalueCounts: EigenvalueCounts?
    /// Share in [0, 1] of eigenvalues ≈ 0, where known (derived from ``eigenvalueCounts`` when absent).
    public var zeroEigenvalueShare: Double?
    /// The steps so far, oldest first (may be empty).
    public var history: [StepRecord]
    /// Mean cosine similarity between mini-batch gradients at θ, in [−1, 1]; near 0 means noise dominates.
    public var gradientCosine: Double?
    /// The simple gradient noise scale B = tr(Σ)/‖G‖² (McCandlish et al. 2018), in samples.
    public var noiseScale: Double?
    /// Mini-batch size (the noise scale is compared with it).
    public var batchSize: Int?
    /// The learning rate now (from the last history record when absent).
    public var learningRate: Double?
    /// Share in [0, 1] of ReLU units that are zero on every sample of a batch.
    public var deadFraction: Double?
    /// Share in [0, 1] of tanh / sigmoid units in their flat tails.
    public var saturatedFraction: Double?
    /// Share in [0, 1] of step time spent waiting for data.
    public var dataWaitShare: Double?
    /// Relative throughput change, recent vs earlier (−0.6 = 60 % drop).
    public var throughputChange: Double?
    /// Share in [0, 1] of recent batches that repeat an earlier recent batch.
    public var repeatedBatchShare: Double?
    /// Mean normalized label entropy of recent batches in [0, 1] (0 = one-label batches).
    public var labelEntropy: Double?
    /// Loss along ± the minimum-eigenvalue direction.
    public var escapeProbe: EscapeProbe.Result?
    /// Perturbed-gradient-descent probes from random points near θ.
    public var perturbationProbe: PerturbationProbe.Result?
    /// Number of parameters.
    public var parameterCount: Int?
    /// Per-rank summaries of a distributed run (empty for one process); ``history`` is then the
    /// consensus over ranks (see ``RankAnalysis``).
    public var ranks: [RankSummary] = []
    /// The run's world size, where reported (ranks that never reported are then known).
    public var worldSize: Int?

    public init(
        gradNorm: Double? = nil, earlyGradNorm: Double? = nil, loss: Double? = nil,
        lambdaMax: Double? = nil, lambdaMin: Double? = nil, spectralRatio: Double? = nil,
        negativeSpectralMass: Double? = nil, hessianTrace: Double? = nil,
        eigenvalueCounts: EigenvalueCounts? = nil, zeroEigenvalueShare: Double? = nil,
        history: [StepRecord] = [], gradientCosine: Double? = nil, noiseScale: Double? = nil,
        batchSize: Int? = nil, learningRate: Double? = nil, deadFraction: Double? = nil,
        saturatedFraction: Double? = nil, dataWaitShare: Double? = nil, throughputChange: Double? = nil,
        repeatedBatchShare: Double? = nil, labelEntropy: Double? = nil,
        escapeProbe: EscapeProbe.Result? = nil, perturbationProbe: PerturbationProbe.Result? = nil,
        parameterCount: Int? = nil
    ) {
        self.gradNorm = gradNorm
        self.earlyGradNorm = earlyGradNorm
        self.loss = loss
        self.lambdaMax = lambdaMax
        self.lambdaMin = lambdaMin
        self.spectralRatio = spectralRatio
        self.negativeSpectralMass = negativeSpectralMass
        self.hessianTrace = hessianTrace
        self.eigenvalueCounts = eigenvalueCounts
        self.zeroEigenvalueShare = zeroEigenvalueShare
        self.history = history
        self.gradientCosine = gradientCosine
        self.noiseScale = noiseScale
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.deadFraction = deadFraction
        self.saturatedFraction = saturatedFraction
        self.dataWaitShare = dataWaitShare
        self.throughputChange = throughputChange
        self.repeatedBatchShare = repeatedBatchShare
        self.labelEntropy = labelEntropy
        self.escapeProbe = escapeProbe
        self.perturbationProbe = perturbationProbe
        self.parameterCount = parameterCount
    }
}
