import SaddleCurvature
import SaddleJSON
import SaddleModels
import SaddleRPC

extension Server {
    /// `curvature/eigen`. The Lanczos basis is checked against `--max-lanczos-bytes` before any work.
    func curvatureEigen(_ p: CurvatureEigen.Params, _ context: RequestContext) throws(RPCError) -> JSON {
        let target = try curvatureTarget(p.request, p.options)
        let d = target.dimension
        if p.method == .lanczos {
            let k = min(p.lanczos.largest, d) + min(p.lanczos.smallest, d)
            try checkLanczosMemory(vectors: min(p.lanczos.maxIterations ?? min(d, max(100, 4 * k)), d), dimension: d)
        }
        let subsetObjectives = try p.options.subsets.map { s throws(RPCError) in
            try self.subsetObjectives(target, request: p.request, subsets: s)
        }
        let control = context.curvatureControl
        return try context.curvatureWork("curvature/eigen (\(p.method.rawValue))") {
            let op = try target.makeOperator()
            let parts = subsetObjectives == nil ? 1.0 : 2.0
            var result: [String: JSON]
            switch p.method {
            case .lanczos: result = try lanczos(p, target: target, op: op, control: control.part(0, of: parts))
            case .power: result = try power(p, op: op, control: control.part(0, of: parts))
            }
            if let (objectives, counts) = subsetObjectives {
                let operators = try objectives.map { try target.makeOperator(objective: $0) }
                result["uncertainty"] = try uncertainty(
                    p, operators: operators, counts: counts, control: control.part(1, of: parts))
            }
            return .object(result.merging(target.summary) { a, _ in a })
        }
    }

    private func lanczos(
        _ p: CurvatureEigen.Params, target: CurvatureTarget, op: RestrictedOperator<HessianOperator>,
        control: CurvatureControl
    ) throws -> [String: JSON] {
        let r = try Lanczos.eigen(op, options: lanczosOptions(p, vectors: p.keepVectors), control: control)
        func entries(_ values: [Double], _ residuals: [Double], _ converged: [Bool], _ vectors: [[Double]]) -> JSON {
            .array(
                values.indices.map { i in
                    var entry: [String: JSON] = [
                        "value": .number(values[i]), "residual": .number(residuals[i]), "converged": .bool(converged[i]),
                    ]
                    if i < vectors.count {
                        let stored = workspace.addDirection(
                            model: target.resolved.model.id, vector: target.embed(vectors[i]),
                            label: "eigenvector λ=\(values[i]) (\(target.kind.rawValue), \(target.blockLabel))",
                            eigenvalue: values[i])
                        entry["direction"] = .string(stored.id)
                    }
                    return .object(entry)
                })
        }
        return [
            "method": "lanczos",
            "largest": entries(r.largest, r.largestResiduals, r.largestConverged, r.largestVectors),
            "smallest": entries(r.smallest, r.smallestResiduals, r.smallestConverged, r.smallestVectors),
            "spectrumScale": .number(r.spectrumScale), "tolerance": .number(r.tolerance), "iterations": .int(r.iterations),
            "products": .int(r.products), "stopReason": .string(r.stopReason.rawValue),
            "notes": .array(r.notes.map { .string($0) }),
        ]
    }

    private func lanczosOptions(_ p: CurvatureEigen.Params, vectors: Bool) -> Lanczos.Options {
        Lanczos.Options(
            largest: p.lanczos.largest, smallest: p.lanczos.smallest, tolerance: p.lanczos.tolerance,
            maxIterations: p.lanczos.maxIterations,
            seed: p.seed, computeVectors: vectors)
    }

    private func power(
        _ p: CurvatureEigen.Params, op: RestrictedOperator<HessianOperator>,
        control: CurvatureControl
    ) throws -> [String: JSON] {
        let options = PowerIteration.Options(
            count: 1, tolerance: p.lanczos.tolerance, maxIterations: p.lanczos.maxIterations ?? 1000,
            seed: p.seed, findSmallest: true)
        let r = try PowerIteration.eigen(op, options: options, control: control)
        let dominant = r.dominant[0]
        let largest = r.largest ?? dominant, smallest = r.smallest ?? dominant
        let dominantConverged = r.dominantConverged[0], shiftedConverged = r.shiftedConverged ?? false
        // The dominant run found the end of larger magnitude; the shifted run found the other end.
        let largestConverged = largest == dominant ? dominantConverged : shiftedConverged
        let smallestConverged = smallest == dominant && largest != dominant ? dominantConverged : shiftedConverged
        func entry(_ value: Double, _ converged: Bool) -> JSON { ["value": .number(value), "converged": .bool(converged)] }
        return [
            "method": "power",
            "largest": p.lanczos.largest > 0 ? [entry(largest, largestConverged)] : [],
            "smallest": p.lanczos.smallest > 0 ? [entry(smallest, smallestConverged)] : [],
            "spectrumScale": .number(max(abs(largest), abs(smallest))), "tolerance": .number(p.lanczos.tolerance),
            "iterations": .int(r.products), "products": .int(r.products),
            "stopReason": .string(dominantConverged && shiftedConverged ? "converged" : "maxIterations"),
            "notes": [
                .string(
                    "power iteration (PyHessian's method) finds the eigenvalue of largest magnitude, then the other end "
                        + "from a run on A − θ·I; it stops when the Rayleigh quotient changes by less than `tolerance` relative, and reports no residuals"
                )
            ],
        ]
    }

    /// The largest and smallest eigenvalue on each disjoint subset: mean, spread and values.
    private func uncertainty(
        _ p: CurvatureEigen.Params, operators: [RestrictedOperator<HessianOperator>], counts: [Int],
        control: CurvatureControl
    ) throws -> JSON {
        var smallestValues: [Double] = []
        let primary = try SubsetUncertainty.estimate(operators: operators, samplesPerSubset: counts, control: control) { op, c in
            switch p.method {
            case .lanczos:
                let r = try Lanczos.eigen(op, options: lanczosOptions(p, vectors: false), control: c)
                smallestValues.append(r.smallest.first ?? .nan)
                return p.lanczos.largest > 0 ? r.largest[0] : r.smallest[0]
            case .power:
                let r = try PowerIteration.eigen(
                    op,
                    options: PowerIteration.Options(
                        count: 1, tolerance: p.lanczos.tolerance, maxIterations: p.lanczos.maxIterations ?? 1000, seed: p.seed),
                    control: c)
                smallestValues.append(r.smallest ?? .nan)
                return p.lanczos.largest > 0 ? (r.largest ?? .nan) : (r.smallest ?? .nan)
            }
        }
        var members: [String: JSON] = [:]
        if p.lanczos.largest > 0 { members["largest"] = primary.json }
        if p.lanczos.smallest > 0 {
            // Same formulas, no further products: the estimator replays the values already computed.
            var next = 0
            members["smallest"] =
                p.lanczos.largest > 0
                ? try SubsetUncertainty.estimate(operators: operators, samplesPerSubset: counts) { _, _ in
                    defer { next += 1 }
                    return smallestValues[next]
                }.json
                : primary.json
        }
        return .object(members)
    }
}

extension CurvatureControl {
    /// Progress mapped into part `index` of `count` equal parts; the same cancellation.
    func part(_ index: Double, of count: Double) -> CurvatureControl {
        let progress = self.progress
        return CurvatureControl(
            checkCancelled: checkCancelled,
            progress: { fraction, message in progress((index + fraction) / count, message) })
    }
}
