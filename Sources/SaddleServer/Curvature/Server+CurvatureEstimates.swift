import SaddleCurvature
import SaddleJSON
import SaddleModels
import SaddleRPC

extension Server {
    /// `curvature/trace`: Hutchinson with Rademacher probes (and the spread over subsets when asked).
    func curvatureTrace(_ p: CurvatureTrace.Params, _ context: RequestContext) throws(RPCError) -> JSON {
        let target = try curvatureTarget(p.request, p.options)
        let subsetObjectives = try p.options.subsets.map { s throws(RPCError) in
            try self.subsetObjectives(target, request: p.request, subsets: s)
        }
        let options = Hutchinson.Options(
            probes: p.probes, targetRelativeStandardError: p.targetRelativeStandardError,
            minimumProbes: min(10, p.probes), seed: p.seed)
        let control = context.curvatureControl
        return try context.curvatureWork("curvature/trace") {
            let parts = subsetObjectives == nil ? 1.0 : 2.0
            let r = try Hutchinson.trace(try target.makeOperator(), options: options, control: control.part(0, of: parts))
            var result: [String: JSON] = [
                "estimate": .number(r.estimate), "standardError": .number(r.standardError), "probes": .int(r.probes),
                "products": .int(r.products), "stoppedEarly": .bool(r.stoppedEarly),
            ]
            if let (objectives, counts) = subsetObjectives {
                let operators = try objectives.map { try target.makeOperator(objective: $0) }
                result["uncertainty"] = try SubsetUncertainty.estimate(
                    operators: operators, samplesPerSubset: counts, control: control.part(1, of: parts)
                ) { op, c in try Hutchinson.trace(op, options: options, control: c).estimate }.json
            }
            return .object(result.merging(target.summary) { a, _ in a })
        }
    }

    /// `curvature/density`: stochastic Lanczos quadrature; each probe's basis counts against
    /// `--max-lanczos-bytes`.
    func curvatureDensity(_ p: CurvatureDensity.Params, _ context: RequestContext) throws(RPCError) -> JSON {
        let target = try curvatureTarget(p.request, p.options)
        try checkLanczosMemory(vectors: min(p.steps, target.dimension), dimension: target.dimension)
        let options = SpectralDensity.Options(
            probes: p.probes, steps: p.steps, probe: .gaussian, sigma: p.sigma,
            relativeSigma: p.relativeSigma, gridPoints: p.gridPoints, seed: p.seed)
        let control = context.curvatureControl
        return try context.curvatureWork("curvature/density") {
            let r = try SpectralDensity.estimate(try target.makeOperator(), options: options, control: control)
            let result: [String: JSON] = [
                "grid": .numbers(r.grid), "density": .numbers(r.density), "nodes": .numbers(r.nodes),
                "weights": .numbers(r.weights),
                "nodesPerProbe": .array(r.nodesPerProbe.map { .int($0) }), "sigma": .number(r.sigma),
                "integral": .number(r.integral),
                "negativeMass": [
                    "fromWeights": .number(r.negativeMassFromWeights), "fromDensity": .number(r.negativeMassFromDensity),
                ],
                "probes": .int(r.probes), "products": .int(r.products), "notes": .array(r.notes.map { .string($0) }),
            ]
            return .object(result.merging(target.summary) { a, _ in a })
        }
    }

    /// `curvature/blocks`: Lanczos (and Hutchinson) on the diagonal block of every parameter tensor.
    func curvatureBlocks(_ p: CurvatureBlocks.Params, _ context: RequestContext) throws(RPCError) -> JSON {
        let target = try curvatureTarget(p.request, p.options)
        let modelBlocks = target.resolved.model.model.blocks
        let widest = modelBlocks.map(\.range.count).max() ?? 0
        let k = min(p.lanczos.largest, widest) + min(p.lanczos.smallest, widest)
        try checkLanczosMemory(vectors: min(p.lanczos.maxIterations ?? min(widest, max(100, 4 * k)), widest), dimension: widest)
        let eigenOptions = Lanczos.Options(
            largest: p.lanczos.largest, smallest: p.lanczos.smallest, tolerance: p.lanczos.tolerance,
            maxIterations: p.lanczos.maxIterations, seed: p.seed)
        let traceOptions = p.trace ? Hutchinson.Options(probes: p.probes, minimumProbes: min(10, p.probes), seed: p.seed) : nil
        let control = context.curvatureControl
        return try context.curvatureWork("curvature/blocks") {
            let blocks = modelBlocks.map { SaddleCurvature.ParameterBlock(name: $0.name, range: $0.range) }
            let summaries = try BlockCurvature.summarize(
                try target.makeOperator(), blocks: blocks, eigenOptions: eigenOptions,
                traceOptions: traceOptions, control: control)
            var products = 0
            let entries: [JSON] = zip(modelBlocks, summaries).map { block, s in
                products += s.eigen.products + (s.trace?.products ?? 0)
                func values(_ v: [Double], _ r: [Double], _ c: [Bool]) -> JSON {
                    .array(v.indices.map { ["value": .number(v[$0]), "residual": .number(r[$0]), "converged": .bool(c[$0])] })
                }
                var entry: [String: JSON] = [
                    "name": .string(block.name), "layer": .int(block.layer), "offset": .int(block.range.lowerBound),
                    "count": .int(block.range.count),
                    "largest": values(s.eigen.largest, s.eigen.largestResiduals, s.eigen.largestConverged),
                    "smallest": values(s.eigen.smallest, s.eigen.smallestResiduals, s.eigen.smallestConverged),
                    "spectrumScale": .number(s.eigen.spectrumScale), "stopReason": .string(s.eigen.stopReason.rawValue),
                    "products": .int(s.eigen.products + (s.trace?.products ?? 0)),
                ]
                if let t = s.trace {
                    entry["trace"] = [
                        "estimate": .number(t.estimate), "standardError": .number(t.standardError), "probes": .int(t.probes),
                    ]
                }
                return .object(entry)
            }
            var result = target.summary
            result["blocks"] = .array(entries)
            result["products"] = .int(products)
            result["notes"] = [.string(Lanczos.multiplicityNote)]
            return .object(result)
        }
    }
}
