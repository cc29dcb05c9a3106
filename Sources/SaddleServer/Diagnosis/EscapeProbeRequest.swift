import SaddleCurvature
import SaddleDiagnosis
import SaddleJSON
import SaddleMath
import SaddleModels
import SaddleRPC
import SaddleTraining

extension Server {
    /// `escape/probe`: the loss at θ ± t·d̂ for each step size along a stored direction or the λ_min
    /// eigenvector computed now (and stored), and with `apply` the model moved to the best point when a
    /// decrease beyond `escapeDecrease`·max(1, |f|) was found. When a run of this daemon trains the model,
    /// `apply` needs that run paused: the step then goes into the run's parameters too, so `run/resume`
    /// continues from the escaped point; while the run trains, `apply` is refused (-31003).
    func escapeProbe(_ params: EscapeProbeMethod.Params, control: CurvatureControl) throws(RPCError) -> JSON {
        let resolved = try objective(params.request)
        let modelID = resolved.model.id
        if params.apply, let run = resolved.model.trainingRun { _ = try pausedRun(run, model: modelID) }
        let theta = resolved.parameters
        var result: [String: JSON] = [:]
        let direction: [Double]
        if let id = params.direction {
            let entry = try workspace.direction(id, model: modelID)
            direction = entry.vector
            result["direction"] = .string(entry.id)
            if let eigenvalue = entry.eigenvalue { result["eigenvalue"] = JSON.number(eigenvalue) }
        } else {
            let options = Lanczos.Options(
                largest: 0, smallest: 1, tolerance: PointEvidenceOptions.lanczosTolerance,
                maxIterations: params.maxIterations.map { min($0, theta.count) }, seed: 0,
                computeVectors: true)
            let lanczos: Lanczos.Result
            do {
                lanczos = try Lanczos.eigen(
                    HessianOperator(objective: resolved.objective, parameters: theta),
                    options: options, control: control.diagnosisStage(from: 0, to: 0.7))
            } catch {
                throw RPCError.fromDiagnosisWork(error)
            }
            guard let lambdaMin = lanczos.smallest.first, let vector = lanczos.smallestVectors.first else {
                throw .numericalError("Lanczos returned no eigenvector")
            }
            let entry = workspace.addDirection(
                model: modelID, vector: vector,
                label: "eigenvector λ=\(lambdaMin) (hessian, λ_min)", eigenvalue: lambdaMin)
            direction = vector
            result["direction"] = .string(entry.id)
            result["eigenvalue"] = JSON.number(lambdaMin)
            result["lanczos"] = Self.lanczosJSON(lanczos)
        }
        let steps = params.stepSizes ?? EscapeLadder.defaultStepSizes(parameterNorm: Vector.norm(theta))
        let probe: EscapeProbe.Result
        do {
            control.progress(0.7, "loss at \(2 * steps.count) points along the direction")
            probe = try EscapeProbe.run(
                loss: { point in
                    try control.checkCancelled()
                    return try resolved.objective.loss(point)
                }, theta: theta, direction: direction, stepSizes: steps)
        } catch {
            throw RPCError.fromDiagnosisWork(error)
        }
        var applied = false
        var newLoss = probe.baseLoss
        if params.apply, EscapeLadder.foundDecrease(probe) {
            let point = EscapeLadder.bestPoint(theta: theta, direction: direction, step: probe.bestStep)
            if let run = try workspace.model(modelID).trainingRun {
                // The run first: if it was resumed meanwhile it refuses, and nothing has changed.
                let active = try pausedRun(run, model: modelID)
                do throws(RunControlError) {
                    try active.training.replaceParameters(point)
                } catch {
                    throw .invalidState(
                        "run \(run) (training model \(modelID)) can take an escape step only while paused: \(error)")
                }
                result["run"] = .string(run)
            }
            try workspace.updateParameters(model: modelID, point)
            applied = true
            newLoss = probe.baseLoss - probe.bestDecrease
        }
        for (key, value) in probe.json.objectValue ?? [:] { result[key] = value }
        result["model"] = .string(modelID)
        result["applied"] = .bool(applied)
        result["newLoss"] = JSON.number(newLoss)
        result["samplesUsed"] = .int(resolved.objective.sampleCount)
        return .object(result)
    }

    /// The paused run of this daemon that trains `model`, or -31003 saying what to do.
    private func pausedRun(_ runId: String, model: String) throws(RPCError) -> ActiveRun {
        guard let run = runs.run(runId), run.training.status.state == .paused else {
            throw .invalidState(
                "model \(model) is being trained by run \(runId); pause it with run/pause (or probe without `apply`) before stepping its parameters"
            )
        }
        return run
    }
}
