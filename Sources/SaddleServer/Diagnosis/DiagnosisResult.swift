import SaddleCurvature
import SaddleDiagnosis
import SaddleJSON

extension Server {
    /// The diagnosis step, reusable by every form of `diagnose`: evidence in, the result members out —
    /// ``Diagnosis`` (verdict, confidence, reason, evidence items, recommendations, missing), plus
    /// `evidenceInput` (the evidence as given, so the same numbers replay to the same verdict), the
    /// `thresholds` used, and `timings.diagnosis`. Pure but for the timing.
    func diagnosisResult(evidence: Evidence, thresholds: Thresholds) -> [String: JSON] {
        var timer = StageTimer()
        let diagnosis = Diagnoser.diagnose(evidence, thresholds: thresholds)
        timer.lap("diagnosis")
        var members = diagnosis.json.objectValue ?? [:]
        if case .array(let recommendations)? = members["recommendations"] {
            members["recommendations"] = .array(
                recommendations.map { r in
                    guard case .object(var o) = r, let id = o["id"]?.stringValue, let field = Self.recommendationFields[id] else {
                        return r
                    }
                    o["field"] = .string(field)
                    return .object(o)
                })
        }
        members["evidenceInput"] = evidence.json
        members["thresholds"] = thresholds.json
        members["timings"] = Self.timingsJSON(timer.laps)
        return members
    }

    /// `diagnose` for a point: the diagnosis of `point.evidence`, with what was measured (Lanczos,
    /// noise), timings per stage, the samples used, and — when λ_min < 0 — the λ_min eigenvector stored
    /// as a workspace direction, its id in `negativeCurvatureDirection`.
    func pointDiagnosisResult(_ point: PointEvidence, thresholds: Thresholds) -> [String: JSON] {
        var members = diagnosisResult(evidence: point.evidence, thresholds: thresholds)
        let laps = point.timings + [("diagnosis", members["timings"]?["diagnosis"]?.doubleValue ?? 0)]
        members["timings"] = Self.timingsJSON(laps)
        members["samplesUsed"] = .int(point.samplesUsed)
        members["lanczos"] = Self.lanczosJSON(point.lanczos)
        if let noise = point.noise { members["noise"] = Self.noiseJSON(noise) }
        if let lambdaMin = point.lanczos.smallest.first, lambdaMin < 0, let vector = point.minimumEigenvector {
            let entry = workspace.addDirection(
                model: point.modelID, vector: vector,
                label: "eigenvector λ=\(lambdaMin) (hessian, λ_min)", eigenvalue: lambdaMin)
            members["negativeCurvatureDirection"] = .string(entry.id)
        }
        return members
    }

    static func timingsJSON(_ laps: [(stage: String, seconds: Double)]) -> JSON {
        var o: [String: JSON] = [:]
        for lap in laps { o[lap.stage] = JSON.number(lap.seconds) }
        o["total"] = JSON.number(laps.reduce(0) { $0 + $1.seconds })
        return .object(o)
    }

    static func lanczosJSON(_ r: Lanczos.Result) -> JSON {
        var o: [String: JSON] = [
            "tolerance": JSON.number(r.tolerance), "spectrumScale": JSON.number(r.spectrumScale),
            "iterations": .int(r.iterations), "products": .int(r.products), "stopReason": .string(r.stopReason.rawValue),
            "converged": .bool(r.converged), "notes": .array(r.notes.map { .string($0) }),
        ]
        if let v = r.largest.first { o["lambdaMax"] = JSON.number(v) }
        if let v = r.smallest.first { o["lambdaMin"] = JSON.number(v) }
        if let v = r.largestResiduals.first { o["lambdaMaxResidual"] = JSON.number(v) }
        if let v = r.smallestResiduals.first { o["lambdaMinResidual"] = JSON.number(v) }
        return .object(o)
    }

    static func noiseJSON(_ s: GradientNoise.Statistics) -> JSON {
        [
            "batches": .int(s.batches), "batchSize": .int(s.batchSize), "meanGradientNorm": JSON.number(s.meanGradientNorm),
            "covarianceTrace": JSON.number(s.covarianceTrace), "simpleNoiseScale": JSON.number(s.simpleNoiseScale),
            "signalToNoiseRatio": JSON.number(s.signalToNoiseRatio), "meanPairwiseCosine": JSON.number(s.meanPairwiseCosine),
        ]
    }
}
