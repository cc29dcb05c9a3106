/// One run of the decision procedure documented on ``Diagnoser``.
struct Procedure {
    let e: Evidence
    let t: Thresholds
    let h: HistorySummary
    var ledger = Ledger()
    /// Facts that shape the recommendations.
    var flags: Set<String> = []
    /// Ranks the verdict names (distributed runs).
    var implicated: [Int] = []

    init(evidence: Evidence, thresholds: Thresholds) {
        e = evidence
        t = thresholds
        h = HistoryAnalysis.summarize(evidence.history, thresholds: thresholds)
    }

    // MARK: Inputs, explicit first, then derived from the history

    var gradNorm: Double? { e.gradNorm ?? h.lastGradNorm }
    var loss: Double? { e.loss ?? h.lastLoss }
    var learningRate: Double? { e.learningRate ?? h.lastLearningRate }
    var earlyGradNorm: Double? { e.earlyGradNorm ?? h.earlyGradNorm }
    /// max(1, |f|): the scale for absolute tests; 1 when the loss is unknown or not finite.
    var lossScale: Double { loss.map { $0.isFinite ? max(1, abs($0)) : 1 } ?? 1 }
    /// lr·λ_max when both are known and finite.
    var sharpness: Double? {
        guard let lr = learningRate, let top = e.lambdaMax, lr.isFinite, top.isFinite else { return nil }
        return lr * top
    }
    /// max(|λ_max|, |λ_min|) over those known.
    var spectrumScale: Double? {
        let known = [e.lambdaMax, e.lambdaMin].compactMap { $0 }
        return known.isEmpty ? nil : known.map(abs).max()
    }
    var edgeOfStability: Bool {
        guard let s = sharpness, let trend = h.lossRelativeChange else { return false }
        return abs(s - t.edgeOfStability) <= t.edgeOfStabilityBand * t.edgeOfStability && trend < 0
    }

    // MARK: The procedure

    mutating func decide() -> (Verdict, String) {
        if e.ranks.count >= 2, let outcome = crossRank() { return outcome }
        if let outcome = divergence() { return outcome }
        // Repeated or one-label batches: the model sees little, which flattens the loss itself.
        if let outcome = pipeline(kind: "content") { return outcome }
        guard let g = gradNorm else { return pipeline(kind: "timing") ?? withoutGradient() }
        // With a small gradient and measured curvature (or probes), the optimization itself explains a flat
        // loss: faster data would not carry a step further. Timing evidence is then recorded, not decisive.
        if g <= smallGradientThreshold && curvatureMeasured {
            let outcome = gradientTest(g)
            _ = pipeline(kind: "timing", decisive: false)
            return outcome
        }
        if let outcome = pipeline(kind: "timing") { return outcome }
        return gradientTest(g)
    }

    var smallGradientThreshold: Double {
        max(t.smallGradientAbsolute * lossScale, earlyGradNorm.map { t.smallGradientRelative * $0 } ?? 0)
    }

    /// Whether anything beyond the gradient speaks about the landscape here.
    var curvatureMeasured: Bool {
        e.lambdaMin != nil || e.lambdaMax != nil || e.negativeSpectralMass != nil || e.escapeProbe != nil
            || e.perturbationProbe != nil
    }

    /// Steps 3–5 for a known gradient norm.
    mutating func gradientTest(_ g: Double) -> (Verdict, String) {
        let threshold = smallGradientThreshold
        let small = g <= threshold
        let note =
            earlyGradNorm.map {
                "threshold = max(\(t.smallGradientAbsolute)·max(1,|f|), \(t.smallGradientRelative)·early scale \($0))"
            }
            ?? "threshold = \(t.smallGradientAbsolute)·max(1, |f|) (no early gradient scale known)"
        let index = ledger.add(
            EvidenceItem(
                name: "gradNorm", value: g, threshold: threshold, comparison: .lessOrEqual,
                holds: small, concerns: .progressing, supports: !small, note: note))
        let strength = Margin.decades(g, threshold)
        let outcome = small ? smallGradient() : largeGradient(gradientItem: index, strength: strength)
        if small { ledger.decide(index, for: outcome.0, strength: strength) }
        return outcome
    }

    /// Step 1.
    mutating func divergence() -> (Verdict, String)? {
        let current: [(String, Double?)] = [
            ("loss", e.loss), ("gradNorm", e.gradNorm), ("lambdaMax", e.lambdaMax),
            ("lambdaMin", e.lambdaMin),
        ]
        for (name, value) in current {
            if let value, !value.isFinite {
                let i = ledger.add(
                    EvidenceItem(
                        name: "nonFinite", value: value, threshold: 0, comparison: .notFinite,
                        holds: true, concerns: .diverging, supports: true,
                        note: "\(name) is \(value)"))
                ledger.decide(i, for: .diverging, strength: 1)
                flags.insert("nonFinite")
                return (.diverging, "\(name) is \(value)")
            }
        }
        if let step = h.nonFiniteStep, let record = e.history.first(where: { $0.step == step }) {
            let value = [record.loss, record.weightNorm ?? 0, record.gradNorm ?? 0].first { !$0.isFinite } ?? .nan
            let i = ledger.add(
                EvidenceItem(
                    name: "nonFinite", value: value, threshold: 0, comparison: .notFinite,
                    holds: true, concerns: .diverging, supports: true,
                    note: "non-finite value at step \(step)"))
            ledger.decide(i, for: .diverging, strength: 1)
            flags.insert("nonFinite")
            return (.diverging, "a non-finite value at step \(step)")
        }

        let eos = edgeOfStability
        if let s = sharpness, eos {
            ledger.add(
                EvidenceItem(
                    name: "edgeOfStability", value: s, threshold: t.edgeOfStability, comparison: .within, holds: true,
                    concerns: .progressing, supports: true,
                    note: "lr·λ_max within ±\(t.edgeOfStabilityBand * t.edgeOfStability) of \(t.edgeOfStability) while the "
                        + "windowed loss falls on average (relative change \(h.lossRelativeChange ?? .nan)): edge of "
                        + "stability, not divergence"))
        }
        let suppressed = eos ? " (not counted: edge of stability)" : ""
        var candidates: [(Int, Double, String)] = []
        if let change = h.lossRelativeChange {
            let thirds = h.lossThirdsRatio ?? .nan
            let grows = change > t.divergenceLossGrowth && thirds > 1 + t.divergenceLossGrowth
            let i = ledger.add(
                EvidenceItem(
                    name: "lossGrowth", value: change, threshold: t.divergenceLossGrowth, comparison: .greater, holds: grows,
                    concerns: .diverging, supports: grows && !eos,
                    note: "relative loss change over the last \(t.plateauWindow) steps; last/first-third median ratio "
                        + "\(thirds)\(grows ? suppressed : "")"))
            if grows && !eos { candidates.append((i, Margin.linear(change, t.divergenceLossGrowth), "the loss grows")) }
        }
        let notFalling = (h.lossRelativeChange ?? 0) > -t.plateauRelativeSlope
        for (name, growth) in [("gradNormGrowth", h.gradNormGrowth), ("weightNormGrowth", h.weightNormGrowth)] {
            guard let growth else { continue }
            let grows = growth > t.divergenceNormGrowth && notFalling
            let i = ledger.add(
                EvidenceItem(
                    name: name, value: growth, threshold: t.divergenceNormGrowth, comparison: .greater, holds: grows,
                    concerns: .diverging, supports: grows && !eos,
                    note: "median of the window's last third over its first; counts only while the loss is not "
                        + "falling\(grows ? suppressed : "")"))
            if grows && !eos {
                candidates.append(
                    (
                        i, Margin.decades(growth, t.divergenceNormGrowth),
                        name == "gradNormGrowth" ? "the gradient norm grows" : "the weight norm grows"
                    ))
            }
        }
        guard let best = candidates.max(by: { $0.1 < $1.1 }) else { return nil }
        ledger.decide(best.0, for: .diverging, strength: best.1)
        return (.diverging, best.2 + " over the last \(t.plateauWindow) steps")
    }

    /// Step 2, for one kind of evidence: "timing" (data-wait share, throughput drop) or "content" (repeated
    /// batches, one-label batches). With `decisive` false the items are recorded and nothing is decided.
    mutating func pipeline(kind: String, decisive: Bool = true) -> (Verdict, String)? {
        var candidates: [(Int, Double, String, String)] = []
        func check(
            _ name: String, _ value: Double?, _ threshold: Double, _ comparison: Comparison, _ note: String,
            _ reason: String, _ flag: String
        ) {
            guard flag == kind, let value, value.isFinite else { return }
            let holds = comparison == .greaterOrEqual ? value >= threshold : value <= threshold
            let i = ledger.add(
                EvidenceItem(
                    name: name, value: value, threshold: threshold, comparison: comparison,
                    holds: holds, concerns: .dataPipelineStall, supports: holds, note: note))
            if holds { candidates.append((i, Margin.linear(value, threshold), reason, flag)) }
        }
        // A share only matters when the waits are long enough to be felt.
        let waitsMatter = e.dataWaitShare != nil || (h.meanDataWait.map { $0 >= t.dataWaitMinimum } ?? true)
        check(
            "dataWaitShare", waitsMatter ? (e.dataWaitShare ?? h.dataWaitShare) : nil, t.dataWaitShare, .greaterOrEqual,
            "share of step time spent waiting for data"
                + (h.meanDataWait.map { "; mean wait \($0) s, counted from \(t.dataWaitMinimum) s" } ?? ""),
            "the step waits for data most of the time", "timing")
        // A slower step is a data-pipeline stall only when the steps wait for data long enough to be felt;
        // otherwise the slowdown is compute's (another process, a tiny model's timer noise).
        check(
            "throughputDrop", waitsMatter ? (e.throughputChange ?? h.throughputChange).map { -$0 } : nil, t.throughputDrop,
            .greaterOrEqual, "1 − recent/earlier throughput", "throughput dropped", "timing")
        check(
            "repeatedBatchShare", e.repeatedBatchShare ?? h.repeatedBatchShare, t.repeatedBatchShare,
            .greaterOrEqual, "share of recent batches that repeat another recent batch", "batches repeat", "content")
        check(
            "labelEntropy", e.labelEntropy ?? h.labelEntropy, t.labelEntropy, .lessOrEqual,
            "mean normalized label entropy of recent batches (0 = one label per batch)",
            "batches hold a single label", "content")
        guard decisive, let best = candidates.max(by: { $0.1 < $1.1 }) else { return nil }
        for c in candidates { flags.insert(c.3) }
        ledger.decide(best.0, for: .dataPipelineStall, strength: best.1)
        return (.dataPipelineStall, best.2)
    }

    /// Step 4.
    mutating func smallGradient() -> (Verdict, String) {
        let scale = spectrumScale
        // a. Clearly negative curvature.
        var saddle: (Int, Double, String)?
        if let low = e.lambdaMin, let scale {
            let threshold = -t.negativeCurvature * scale
            let negative = scale > 0 && low < threshold
            let i = ledger.add(
                EvidenceItem(
                    name: "lambdaMin", value: low, threshold: threshold, comparison: .less, holds: negative,
                    concerns: .saddle, supports: negative,
                    note: "threshold = −\(t.negativeCurvature)·|λ|max (|λ|max = \(scale))"))
            if negative {
                saddle = (i, Margin.linear(low, threshold), "λ_min = \(low) is clearly negative")
                flags.insert("negativeCurvature")
            }
        }
        if let mass = e.negativeSpectralMass {
            let holds = mass > t.negativeSpectralMass
            let i = ledger.add(
                EvidenceItem(
                    name: "negativeSpectralMass", value: mass, threshold: t.negativeSpectralMass, comparison: .greater,
                    holds: holds, concerns: .saddle, supports: holds, note: "share of spectral density below −tol"))
            if holds && e.lambdaMin == nil && saddle == nil {
                saddle = (i, Margin.linear(mass, t.negativeSpectralMass), "negative spectral mass \(mass)")
                flags.insert("negativeCurvature")
            }
        }
        // b. Probes.
        let probes = probeItems()
        // Probes stand in for curvature the second-order test missed. When most units are dead or
        // saturated, that is already the explanation of the flat gradient, and the descent a finite-radius
        // probe finds is the way out of the dead or saturated region (the plateau's remedy), not a saddle.
        var units: [(Int, Double, String)]?
        if saddle == nil, let best = probes.descent.max(by: { $0.1 < $1.1 }) {
            let found = unitItems()
            units = found
            if found.isEmpty { saddle = (best.0, best.1, best.2) }
        }
        if let saddle {
            ledger.decide(saddle.0, for: .saddle, strength: saddle.1)
            return (.saddle, "gradient ~0 and " + saddle.2)
        }
        // c. Flat spectrum, dead or saturated units.
        var flat: [(Int, Double, String)] = []
        var flatSpectrum = false
        if let scale {
            let threshold = t.flatSpectrum * lossScale
            flatSpectrum = scale <= threshold
            let i = ledger.add(
                EvidenceItem(
                    name: "spectrumScale", value: scale, threshold: threshold, comparison: .lessOrEqual, holds: flatSpectrum,
                    concerns: .plateau, supports: flatSpectrum,
                    note: "max(|λ_max|, |λ_min|); threshold = \(t.flatSpectrum)·max(1, |f|)"))
            if flatSpectrum { flat.append((i, Margin.decades(scale, threshold), "all eigenvalues ≈ 0")) }
        }
        flat += units ?? unitItems()
        if let best = flat.max(by: { $0.1 < $1.1 }) {
            ledger.decide(best.0, for: .plateau, strength: best.1)
            if probes.measured == 0 { ledger.miss("perturbationProbe") }
            let probesSay =
                probes.descent.isEmpty
                ? "no probe found descent"
                : "a probe's descent leaves the dead or saturated region, the way off the plateau"
            return (.plateau, "gradient ~0 and " + best.2 + "; " + probesSay)
        }
        // d. Positive semidefinite with some clearly positive curvature.
        if let low = e.lambdaMin, let scale, !flatSpectrum,
            let lowIndex = ledger.items.firstIndex(where: { $0.name == "lambdaMin" })
        {
            let top = e.lambdaMax ?? scale
            let threshold = t.flatSpectrum * lossScale
            let i = ledger.add(
                EvidenceItem(
                    name: "lambdaMax", value: top, threshold: threshold, comparison: .greater, holds: top > threshold,
                    concerns: .localMinimum, supports: top > threshold, note: "some curvature is clearly positive"))
            ledger.decide(i, for: .localMinimum, strength: Margin.decades(top, threshold))
            ledger.decide(lowIndex, for: .localMinimum, strength: Margin.linear(low, -t.negativeCurvature * scale))
            valleyItem()
            for index in probes.noDescent { ledger.decide(index.0, for: .localMinimum, strength: index.1) }
            if probes.measured == 0 { ledger.miss("escapeProbe", "perturbationProbe") }
            return (
                .localMinimum,
                "gradient ~0 and λ_min = \(low) ≥ −tol with λ_max = \(top) > 0: positive "
                    + "semidefinite up to flat directions"
            )
        }
        // e. Curvature unknown.
        ledger.miss("lambdaMin", "lambdaMax")
        if !probes.noDescent.isEmpty {
            for index in probes.noDescent { ledger.decide(index.0, for: .localMinimum, strength: index.1) }
            return (.localMinimum, "gradient ~0 and no probe found descent")
        }
        ledger.miss("escapeProbe", "perturbationProbe")
        if let trend = trendItem(), trend.falling {
            ledger.decide(trend.index, for: .progressing, strength: trend.strength)
            return (.progressing, "gradient small but the loss still falls")
        }
        return (.plateau, "gradient ~0; curvature and probes unknown")
    }

    /// Step 5.
    mutating func largeGradient(gradientItem: Int, strength: Double) -> (Verdict, String) {
        if edgeOfStability, let i = ledger.items.firstIndex(where: { $0.name == "edgeOfStability" }) {
            ledger.decide(gradientItem, for: .progressing, strength: strength)
            ledger.decide(i, for: .progressing, strength: Margin.linear(h.lossRelativeChange ?? 0, 0))
            return (.progressing, "edge of stability: lr·λ_max ≈ \(t.edgeOfStability) and the loss falls on average")
        }
        guard let trend = trendItem() else {
            ledger.decide(gradientItem, for: .progressing, strength: strength)
            ledger.miss("history")
            return (.progressing, "a single point whose gradient is not small")
        }
        if trend.falling {
            ledger.decide(trend.index, for: .progressing, strength: trend.strength)
            return (.progressing, "the loss falls")
        }
        ledger.decide(trend.index, for: .noisyOrIllConditioned, strength: trend.strength)
        let (found, measured) = noiseItems()
        if let best = found.max(by: { $0.1 < $1.1 }) {
            ledger.decide(gradientItem, for: .noisyOrIllConditioned, strength: strength)
            ledger.decide(best.0, for: .noisyOrIllConditioned, strength: best.1)
            return (.noisyOrIllConditioned, "the gradient is not small but the loss does not fall: " + best.2)
        }
        if let best = unitItems().max(by: { $0.1 < $1.1 }) {
            ledger.items[trend.index].concerns = .plateau
            ledger.decide(best.0, for: .plateau, strength: best.1)
            return (.plateau, "the loss does not fall and " + best.2)
        }
        if measured > 0 {
            ledger.items[trend.index].concerns = .plateau
            return (
                .plateau,
                "the loss does not fall although mini-batch gradients agree and the step is stable: "
                    + "the step is too small for this flat stretch"
            )
        }
        ledger.decide(gradientItem, for: .noisyOrIllConditioned, strength: strength)
        if e.gradientCosine == nil { ledger.miss("gradientCosine") }
        if e.noiseScale == nil { ledger.miss("noiseScale") }
        if e.lambdaMax == nil { ledger.miss("lambdaMax") }
        if learningRate == nil { ledger.miss("learningRate") }
        return (.noisyOrIllConditioned, "the gradient is not small but the loss does not fall")
    }

    mutating func withoutGradient() -> (Verdict, String) {
        ledger.miss("gradNorm")
        if let trend = trendItem() {
            let verdict: Verdict = trend.falling ? .progressing : .plateau
            ledger.decide(trend.index, for: verdict, strength: trend.strength)
            return (verdict, trend.falling ? "the loss falls" : "the loss does not fall (gradient unknown)")
        }
        ledger.miss("history")
        return (.progressing, "no gradient and no history: nothing indicates a stall")
    }

    // MARK: Item groups

    /// The loss trend over the window; `nil` without enough history.
    mutating func trendItem() -> (index: Int, falling: Bool, strength: Double)? {
        if let i = ledger.items.firstIndex(where: { $0.name == "lossTrend" }) {
            let value = ledger.items[i].value
            return (i, value <= -t.plateauRelativeSlope, Margin.linear(value, -t.plateauRelativeSlope))
        }
        guard let change = h.lossRelativeChange else { return nil }
        let falling = change <= -t.plateauRelativeSlope
        let plateau = h.plateauLength.map { ", \($0) steps since the loss came within that of its best" } ?? ""
        let i = ledger.add(
            EvidenceItem(
                name: "lossTrend", value: change, threshold: -t.plateauRelativeSlope, comparison: .lessOrEqual,
                holds: falling, concerns: .progressing, supports: falling,
                note: "relative loss change over the last \(t.plateauWindow) steps (least squares)\(plateau)"))
        let strength =
            falling
            ? Margin.linear(change, -t.plateauRelativeSlope)
            : Margin.decades(abs(change), t.plateauRelativeSlope)
        return (i, falling, strength)
    }

    /// Escape and perturbation probe items: those that found descent, those that did not, and how many ran.
    mutating func probeItems() -> (descent: [(Int, Double, String)], noDescent: [(Int, Double)], measured: Int) {
        var descent: [(Int, Double, String)] = []
        var none: [(Int, Double)] = []
        var measured = 0
        let results: [(String, Double?, Double?, String)] = [
            (
                "escapeProbe", e.escapeProbe?.bestDecrease, e.escapeProbe?.baseLoss,
                "best loss decrease along ±the λ_min eigenvector (step \(e.escapeProbe?.bestStep ?? 0))"
            ),
            (
                "perturbationProbe", e.perturbationProbe?.bestDecrease, e.perturbationProbe?.baseLoss,
                "best loss decrease after \(e.perturbationProbe?.steps ?? 0) gradient steps from "
                    + "\(e.perturbationProbe?.probes ?? 0) random perturbations of radius \(e.perturbationProbe?.radius ?? 0)"
            ),
        ]
        for (name, decrease, base, note) in results {
            guard let decrease else { continue }
            measured += 1
            let threshold = t.escapeDecrease * max(1, abs(base.flatMap { $0.isFinite ? $0 : nil } ?? loss ?? 0))
            let found = decrease > threshold
            let i = ledger.add(
                EvidenceItem(
                    name: name, value: decrease, threshold: threshold, comparison: .greater,
                    holds: found, concerns: .saddle, supports: found, note: note))
            if found {
                descent.append((i, Margin.decades(decrease, threshold), "a probe lowered the loss by \(decrease)"))
                if name == "escapeProbe" { flags.insert("negativeCurvature") } else { flags.insert("perturbation") }
            } else {
                none.append((i, decrease.isFinite ? Margin.linear(decrease, threshold) : 1))
            }
        }
        return (descent, none, measured)
    }

    /// Dead and saturated unit items that hold.
    mutating func unitItems() -> [(Int, Double, String)] {
        var found: [(Int, Double, String)] = []
        for (name, value, threshold) in [
            ("deadFraction", e.deadFraction, t.deadFraction),
            ("saturatedFraction", e.saturatedFraction, t.saturatedFraction),
        ] {
            guard let value, value.isFinite else { continue }
            if ledger.items.contains(where: { $0.name == name }) { continue }
            let holds = value >= threshold
            let i = ledger.add(
                EvidenceItem(
                    name: name, value: value, threshold: threshold, comparison: .greaterOrEqual, holds: holds,
                    concerns: .plateau, supports: holds,
                    note: name == "deadFraction" ? "share of ReLU units dead on the batch" : "share of units in saturation"))
            if holds {
                found.append(
                    (
                        i, Margin.linear(value, threshold),
                        name == "deadFraction"
                            ? "most ReLU units are dead"
                            : "most units are saturated"
                    ))
                flags.insert("units")
            }
        }
        return found
    }

    /// Noise and conditioning items: those pointing to noise, and how many were measured.
    mutating func noiseItems() -> ([(Int, Double, String)], Int) {
        var found: [(Int, Double, String)] = []
        var measured = 0
        if let cosine = e.gradientCosine, cosine.isFinite {
            measured += 1
            let holds = cosine < t.cosineNoise
            let i = ledger.add(
                EvidenceItem(
                    name: "gradientCosine", value: cosine, threshold: t.cosineNoise, comparison: .less, holds: holds,
                    concerns: .noisyOrIllConditioned, supports: holds, note: "mean cosine between mini-batch gradients"))
            if holds {
                found.append((i, Margin.linear(cosine, t.cosineNoise), "mini-batch gradients disagree (cosine \(cosine))"))
                flags.insert("noise")
            }
        }
        if let scale = e.noiseScale, scale.isFinite {
            if let batch = e.batchSize, batch > 0 {
                measured += 1
                let ratio = scale / Double(batch)
                let holds = ratio > t.noiseScale
                let i = ledger.add(
                    EvidenceItem(
                        name: "noiseScale", value: ratio, threshold: t.noiseScale, comparison: .greater, holds: holds,
                        concerns: .noisyOrIllConditioned, supports: holds,
                        note: "noise scale \(scale) over batch size \(batch)"))
                if holds {
                    found.append((i, Margin.decades(ratio, t.noiseScale), "the noise scale is \(ratio)× the batch"))
                    flags.insert("noise")
                }
            } else {
                ledger.miss("batchSize")
            }
        }
        if let s = sharpness {
            measured += 1
            let holds = s > t.edgeOfStability
            let i = ledger.add(
                EvidenceItem(
                    name: "stepSharpness", value: s, threshold: t.edgeOfStability, comparison: .greater, holds: holds,
                    concerns: .noisyOrIllConditioned, supports: holds,
                    note: "lr·λ_max; above the bound gradient descent oscillates across the sharpest direction"))
            if holds {
                found.append((i, Margin.linear(s, t.edgeOfStability), "lr·λ_max = \(s) > \(t.edgeOfStability)"))
                flags.insert("sharpness")
            }
        }
        if let top = e.lambdaMax, let low = e.lambdaMin, top > 0, low > 0 {
            measured += 1
            let ratio = top / low
            let holds = ratio > t.conditionNumber
            let i = ledger.add(
                EvidenceItem(
                    name: "conditionNumber", value: ratio, threshold: t.conditionNumber, comparison: .greater, holds: holds,
                    concerns: .noisyOrIllConditioned, supports: holds, note: "λ_max / λ_min"))
            if holds {
                found.append((i, Margin.decades(ratio, t.conditionNumber), "condition number \(ratio)"))
                flags.insert("conditioning")
            }
        }
        return (found, measured)
    }

    /// The flat-valley item: zero eigenvalues beside positive ones (informational).
    mutating func valleyItem() {
        let share =
            e.zeroEigenvalueShare
            ?? e.eigenvalueCounts.flatMap { $0.total > 0 ? Double($0.zero) / Double($0.total) : nil }
        guard let share else { return }
        ledger.add(
            EvidenceItem(
                name: "zeroEigenvalueShare", value: share, threshold: 0, comparison: .greater, holds: share > 0,
                concerns: .localMinimum, supports: true,
                note: share > 0
                    ? "zero eigenvalues along a valley of minima, positive across it: a flat valley, not a plateau"
                    : "no zero eigenvalues: an isolated minimum"))
    }

    // MARK: Result

    func finish(verdict: Verdict, reason: String) -> Diagnosis {
        let margin = ledger.strengths.min() ?? 0
        let completeness = max(0.6, Elementary.pow(0.9, Double(ledger.missing.count)))
        let confidence = min(1, max(0, (0.5 + 0.5 * margin) * completeness))
        return Diagnosis(
            verdict: verdict, confidence: confidence, reason: reason, evidence: ledger.items,
            recommendations: recommendations(for: verdict), missing: ledger.missing,
            ranks: rankDiagnosis(verdict: verdict))
    }

    func recommendations(for verdict: Verdict) -> [Recommendation] {
        switch verdict {
        case .diverging:
            return flags.contains("nonFinite")
                ? [Remedies.findNonFinite, Remedies.smallerLearningRate]
                : [Remedies.smallerLearningRate]
        case .dataPipelineStall:
            var list: [Recommendation] = []
            if flags.contains("timing") { list.append(Remedies.dataLoader) }
            if flags.contains("content") { list.append(Remedies.shuffleAndSampler) }
            if flags.contains("sampler") { list.append(Remedies.distributedSampler) }
            return list
        case .saddle:
            var list: [Recommendation] = []
            if flags.contains("negativeCurvature") { list.append(Remedies.negativeCurvatureStep) }
            return list + [Remedies.noiseInjection, Remedies.momentum, Remedies.adaptiveMethod]
        case .localMinimum:
            return [Remedies.largerLearningRateOrWarmRestart, Remedies.noiseInjection]
        case .plateau:
            let units = flags.contains("units") ? [Remedies.normalizationOrActivation] : []
            return units + [Remedies.largerLearningRateOrWarmRestart, Remedies.momentum, Remedies.adaptiveMethod]
        case .noisyOrIllConditioned:
            var list: [Recommendation] = []
            if flags.contains("sharpness") { list.append(Remedies.smallerLearningRate) }
            if flags.contains("noise") { list.append(Remedies.largerBatch) }
            return list + [Remedies.adaptiveMethod, Remedies.momentum]
        case .straggler:
            return [Remedies.stragglerRank]
        case .rankDivergence:
            return [Remedies.replicaSync]
        case .progressing:
            return []
        }
    }
}
