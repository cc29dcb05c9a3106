import SaddleCurvature
import SaddleJSON
import SaddleMath
import SaddleModels
import SaddleRPC

extension Server {
    /// `curvature/gradient`: ``Objective/statistics(_:)`` on the selected samples.
    func curvatureGradient(_ p: CurvatureGradient.Params, _ context: RequestContext) throws(RPCError) -> JSON {
        let resolved = try objective(p.request)
        return try context.curvatureWork("curvature/gradient") {
            try context.checkCancelled()
            let s = try resolved.objective.statistics(resolved.parameters)
            let blocks: [JSON] = zip(resolved.model.model.blocks, s.blockGradientNorms).map { block, norm in
                ["name": .string(block.name), "layer": .int(block.layer), "gradientNorm": .number(norm)]
            }
            let activations: [JSON] = s.activations.map { a in
                [
                    "module": .string(a.module), "layer": .int(a.layer), "activation": .string(a.activation),
                    "units": .int(a.units),
                    "deadFraction": a.deadFraction.map(JSON.number) ?? .null,
                    "saturatedFraction": a.saturatedFraction.map(JSON.number) ?? .null,
                ]
            }
            return [
                "loss": .number(s.loss), "gradientNorm": .number(s.gradientNorm), "blocks": .array(blocks),
                "activations": .array(activations), "samplesUsed": .int(resolved.objective.sampleCount),
                "precision": .string(resolved.objective.precision.rawValue),
            ]
        }
    }

    /// `curvature/noise`: B disjoint batches of b samples, drawn with the seed from the selected
    /// samples without replacement; one exact gradient per batch.
    func curvatureNoise(_ p: CurvatureNoise.Params, _ context: RequestContext) throws(RPCError) -> JSON {
        let resolved = try objective(p.request)
        let dataset = resolved.dataset.dataset, model = resolved.model.model
        var indices: [Int]
        do { indices = try p.request.samples.resolve(sampleCount: dataset.sampleCount) } catch { throw RPCError(from: error) }
        let (needed, overflow) = p.batches.multipliedReportingOverflow(by: p.batchSize)
        guard !overflow, needed <= indices.count else {
            throw .invalidParams(
                "`params.batches` × `params.batchSize` = \(p.batches) × \(p.batchSize) disjoint samples, but only "
                    + "\(indices.count) are selected; lower either")
        }
        var rng = SeededRandom(seed: p.seed)
        for i in stride(from: indices.count - 1, to: 0, by: -1) {
            indices.swapAt(i, Int(rng.next() % UInt64(i + 1)))
        }
        let control = context.curvatureControl
        return try context.curvatureWork("curvature/noise") {
            var gradients: [[Double]] = []
            for b in 0..<p.batches {
                try control.checkCancelled()
                let batch = Array(indices[(b * p.batchSize)..<((b + 1) * p.batchSize)])
                let objective = try Objective(
                    model: model, dataset: dataset, samples: .indices(batch), precision: p.request.precision)
                gradients.append(try objective.gradient(resolved.parameters).gradient)
                control.progress(Double(b + 1) / Double(p.batches), "gradient of batch \(b + 1) of \(p.batches)")
            }
            let s = try GradientNoise.statistics(batchGradients: gradients, batchSize: p.batchSize)
            return [
                "meanGradientNorm": .number(s.meanGradientNorm), "batchGradientVariance": .number(s.batchGradientVariance),
                "covarianceTrace": .number(s.covarianceTrace), "simpleNoiseScale": .number(s.simpleNoiseScale),
                "unbiasedGradientNormSquared": .number(s.unbiasedGradientNormSquared),
                "meanPairwiseCosine": .number(s.meanPairwiseCosine), "signalToNoiseRatio": .number(s.signalToNoiseRatio),
                "batches": .int(s.batches), "batchSize": .int(s.batchSize), "samplesUsed": .int(needed),
                "precision": .string(p.request.precision.rawValue),
            ]
        }
    }

    /// `curvature/hvp`: one product; a non-finite entry is a numerical error naming it.
    func curvatureHVP(_ p: CurvatureHVP.Params, _ context: RequestContext) throws(RPCError) -> JSON {
        let target = try curvatureTarget(p.request, p.options)
        let vector: [Double]
        switch p.vector {
        case .values(let values):
            guard values.count == target.parameterCount else {
                throw .invalidParams(
                    "`params.vector` has \(values.count) numbers but the model has \(target.parameterCount) parameters")
            }
            vector = values
        case .direction(let id):
            vector = try workspace.direction(id, model: target.resolved.model.id).vector
        }
        return try context.curvatureWork("curvature/hvp") {
            try context.checkCancelled()
            let op = HessianOperator(
                objective: target.resolved.objective, parameters: target.resolved.parameters, kind: target.kind)
            let product = try op.apply(vector)
            if let i = product.firstIndex(where: { !$0.isFinite }) {
                throw CurvatureError.nonFiniteProduct(algorithm: "curvature/hvp", product: 1, index: i, value: product[i])
            }
            var result = target.summary
            result["product"] = .numbers(product)
            result["loss"] = .number(try target.resolved.objective.loss(target.resolved.parameters))
            return .object(result)
        }
    }
}
