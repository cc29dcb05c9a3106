import SaddleCurvature
import SaddleDiagnosis
import SaddleMath
import SaddleModels
import SaddleRPC

/// How to gather evidence at a point. Defaults are documented in protocol/diagnosis.md.
struct PointEvidenceOptions: Sendable {
    /// The thresholds of the coming diagnosis: they decide whether the gradient is small and the
    /// curvature clearly negative, and so whether the perturbation probe runs by default.
    var thresholds: Thresholds
    /// The training learning rate (evidence for lr·λ_max); also the probe's step when nothing better is known.
    var learningRate: Double?
    /// When given, gradient-noise statistics from disjoint batches of this many samples.
    var batchSize: Int?
    /// Cap on Lanczos iterations (Hessian-vector products); nil: ``defaultMaxIterations``.
    var maxIterations: Int?
    var perturbation = PerturbationSettings()
    /// The early gradient scale, when the caller knows it (a run's first steps); makes the small-gradient
    /// test relative, as the diagnosis does.
    var earlyGradNorm: Double?

    init(thresholds: Thresholds = Thresholds()) { self.thresholds = thresholds }

    /// Lanczos residual tolerance relative to the spectrum's scale. Enough for a verdict: the thresholds
    /// compare λ_min with 1e-4·|λ|max, and Ritz values lie inside the spectrum (the estimated λ_min is never
    /// below the true one), so a loose tolerance can miss weak negative curvature but never invent it.
    static let lanczosTolerance = 1e-3
    /// Default cap on Lanczos products. λ_max converges in far fewer; λ_min may not converge to the
    /// tolerance, but its Ritz value is an upper bound, so a clearly negative value is already decisive, and
    /// a small gradient without clearly negative λ_min brings in the perturbation probe anyway. (20
    /// products of a 269k-parameter MLP on 1,024 samples take ≈ 1.6 s; benchmarks/diagnosis.py.)
    static let defaultMaxIterations = 20
    /// At most this many disjoint batches enter the gradient-noise statistics.
    static let maxNoiseBatches = 32
    /// Default perturbation radius relative to max(1, ‖θ‖), gradient steps and probe count.
    static let perturbationRadius = 0.05
    static let perturbationSteps = 10
    static let perturbationCount = 8
}

/// Everything measured at a point: the ``Evidence`` the diagnosis weighs, and the raw results it was
/// drawn from (for the response and for storing the negative-curvature direction).
struct PointEvidence: Sendable {
    var evidence: Evidence
    var lanczos: Lanczos.Result
    /// The unit eigenvector of λ_min (the smallest Ritz value).
    var minimumEigenvector: [Double]?
    var noise: GradientNoise.Statistics?
    /// Seconds per stage, in the order they ran.
    var timings: [(stage: String, seconds: Double)]
    var samplesUsed: Int
    var parameterNorm: Double
    /// The model entry the evidence was gathered for (its id names stored directions).
    var modelID: String
}

extension Server {
    /// Gathers evidence at a model's current parameters on a data set: loss, gradient norm and unit
    /// statistics; λ_max and λ_min from one Lanczos run on the Hessian (tolerance
    /// ``PointEvidenceOptions/lanczosTolerance``); gradient-noise statistics from disjoint batches when
    /// `options.batchSize` is given; the escape probe along the λ_min eigenvector when λ_min < 0; the
    /// perturbation probe when the gradient is small and the curvature not clearly negative (or as
    /// `options.perturbation.enabled` says).
    ///
    /// Reusable by any caller that has a model and a data set (a point, a run's current parameters).
    /// `control` is checked before every product and loss evaluation; progress runs 0…1 over the stages.
    /// - Throws: ``RPCError`` (not found, bad params, cancelled, numerical errors), ready to answer.
    func pointEvidence(
        model modelKey: String, dataset datasetKey: String, samples: SampleSelection = .all,
        precision: Precision = .double, options: PointEvidenceOptions,
        control: CurvatureControl = .none
    ) throws(RPCError) -> PointEvidence {
        let modelEntry = try workspace.model(modelKey)
        let datasetEntry = try workspace.dataset(datasetKey)
        do {
            return try gatherPointEvidence(modelEntry, datasetEntry, samples, precision, options, control)
        } catch {
            throw RPCError.fromDiagnosisWork(error)
        }
    }

    private func gatherPointEvidence(
        _ modelEntry: Workspace.ModelEntry, _ datasetEntry: Workspace.DatasetEntry,
        _ samples: SampleSelection, _ precision: Precision,
        _ options: PointEvidenceOptions, _ control: CurvatureControl
    ) throws -> PointEvidence {
        let model = modelEntry.model, dataset = datasetEntry.dataset
        let theta = model.parameters
        let objective = try Objective(model: model, dataset: dataset, samples: samples, precision: precision)
        let thresholds = options.thresholds
        var timer = StageTimer()
        var evidence = Evidence(
            batchSize: options.batchSize, learningRate: options.learningRate,
            parameterCount: model.parameterCount)
        let parameterNorm = Vector.norm(theta)
        let scale = max(1, parameterNorm)

        // 1. Loss, gradient norm, dead and saturated units.
        try control.checkCancelled()
        control.progress(0, "gradient and unit statistics")
        let stats = try objective.statistics(theta)
        evidence.loss = stats.loss
        evidence.gradNorm = stats.gradientNorm
        evidence.deadFraction = Self.unitShare(stats.activations, \.deadFraction)
        evidence.saturatedFraction = Self.unitShare(stats.activations, \.saturatedFraction)
        timer.lap("gradient")

        // 2. λ_max and λ_min from one Lanczos run.
        let lanczosOptions = Lanczos.Options(
            largest: 1, smallest: 1, tolerance: PointEvidenceOptions.lanczosTolerance,
            maxIterations: min(
                options.maxIterations ?? PointEvidenceOptions.defaultMaxIterations,
                objective.parameterCount),
            seed: 0, computeVectors: true)
        let lanczos = try Lanczos.eigen(
            HessianOperator(objective: objective, parameters: theta), options: lanczosOptions,
            control: control.diagnosisStage(from: 0.05, to: 0.6))
        let lambdaMax = lanczos.largest.first, lambdaMin = lanczos.smallest.first
        evidence.lambdaMax = lambdaMax
        evidence.lambdaMin = lambdaMin
        if let lambdaMax, let lambdaMin, lambdaMax != 0 { evidence.spectralRatio = lambdaMin / lambdaMax }
        let minimumEigenvector = lanczos.smallestVectors.first
        timer.lap("curvature")

        // 3. Gradient noise from disjoint batches.
        var noise: GradientNoise.Statistics?
        if let b = options.batchSize {
            let indices = try samples.resolve(sampleCount: dataset.sampleCount)
            let batches = min(indices.count / b, PointEvidenceOptions.maxNoiseBatches)
            guard batches >= 2 else {
                throw RPCError.invalidParams(
                    "`params.batchSize` must be at most half the \(indices.count) selected samples (gradient noise needs at least 2 disjoint batches), got \(b)"
                )
            }
            var gradients: [[Double]] = []
            for k in 0..<batches {
                try control.checkCancelled()
                control.progress(0.6 + 0.1 * Double(k) / Double(batches), "gradient of batch \(k + 1) of \(batches)")
                let batch = try Objective(
                    model: model, dataset: dataset, samples: .indices(Array(indices[(k * b)..<((k + 1) * b)])),
                    precision: precision)
                gradients.append(try batch.gradient(theta).gradient)
            }
            let statistics = try GradientNoise.statistics(batchGradients: gradients, batchSize: b)
            noise = statistics
            // Only finite values enter the evidence, so that `evidenceInput` always replays.
            if statistics.meanPairwiseCosine.isFinite { evidence.gradientCosine = max(-1, min(1, statistics.meanPairwiseCosine)) }
            if statistics.simpleNoiseScale.isFinite { evidence.noiseScale = statistics.simpleNoiseScale }
            timer.lap("noise")
        }

        // 4. Escape probe along the λ_min eigenvector.
        let loss: ([Double]) throws -> Double = { point in
            try control.checkCancelled()
            return try objective.loss(point)
        }
        if let lambdaMin, lambdaMin < 0, let vector = minimumEigenvector {
            control.progress(0.7, "escape probe along the λ_min eigenvector")
            evidence.escapeProbe = try EscapeProbe.run(
                loss: loss, theta: theta, direction: vector,
                stepSizes: EscapeLadder.decadeStepSizes(parameterNorm: parameterNorm))
            timer.lap("escapeProbe")
        }

        // 5. Perturbation probe where gradient and curvature say nothing clearly.
        let g = stats.gradientNorm, f = stats.loss
        let smallGradient =
            g
            <= max(
                thresholds.smallGradientAbsolute * max(1, abs(f)),
                thresholds.smallGradientRelative * (options.earlyGradNorm ?? 0))
        let s = max(abs(lambdaMax ?? 0), abs(lambdaMin ?? 0))
        let clearlyNegative = (lambdaMin ?? 0) < -thresholds.negativeCurvature * s
        if options.perturbation.enabled ?? (smallGradient && !clearlyNegative) {
            control.progress(0.8, "perturbation probe")
            let settings = options.perturbation
            let rate =
                settings.learningRate
                ?? ((lambdaMax.map { $0 > 0 && $0.isFinite } ?? false) ? 1 / (lambdaMax ?? 1) : (options.learningRate ?? 0.1))
            evidence.perturbationProbe = try PerturbationProbe.run(
                loss: loss,
                gradient: { point in
                    try control.checkCancelled()
                    return try objective.gradient(point).gradient
                }, theta: theta, radius: settings.radius ?? PointEvidenceOptions.perturbationRadius * scale,
                steps: settings.steps ?? PointEvidenceOptions.perturbationSteps, learningRate: rate > 0 ? rate : 0.1,
                probes: settings.count ?? PointEvidenceOptions.perturbationCount, seed: settings.seed)
            timer.lap("perturbationProbe")
        }
        if let early = options.earlyGradNorm { evidence.earlyGradNorm = early }
        control.progress(1, "evidence gathered")
        return PointEvidence(
            evidence: evidence, lanczos: lanczos, minimumEigenvector: minimumEigenvector, noise: noise,
            timings: timer.laps, samplesUsed: objective.sampleCount, parameterNorm: parameterNorm,
            modelID: modelEntry.id)
    }

    /// The unit-weighted share over the activation modules that report `share` (nil when none does).
    private static func unitShare(_ activations: [UnitStatistics], _ share: KeyPath<UnitStatistics, Double?>) -> Double? {
        var units = 0, weighted = 0.0
        for a in activations {
            guard let value = a[keyPath: share], value.isFinite else { continue }
            units += a.units
            weighted += value * Double(a.units)
        }
        return units > 0 ? min(1, max(0, weighted / Double(units))) : nil
    }
}

/// Wall-clock seconds per stage (the server measures; the diagnosis itself never reads a clock).
struct StageTimer {
    private let clock = ContinuousClock()
    private var last: ContinuousClock.Instant
    private(set) var laps: [(stage: String, seconds: Double)] = []

    init() { last = clock.now }

    mutating func lap(_ stage: String) {
        let now = clock.now
        let d = now - last
        laps.append((stage, Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18))
        last = now
    }
}

extension CurvatureControl {
    /// This control with progress fractions mapped into [from, to] of the whole request.
    func diagnosisStage(from lower: Double, to upper: Double) -> CurvatureControl {
        let report = progress
        return CurvatureControl(
            checkCancelled: checkCancelled,
            progress: { fraction, message in report(lower + (upper - lower) * fraction, message) })
    }
}
