import SaddleCurvature
import SaddleJSON
import SaddleModels
import SaddleRPC

/// The operator a curvature request works on: the Hessian or Gauss–Newton matrix of the objective,
/// restricted to a block of parameters (the whole vector when no block was asked for). A full
/// restriction costs one vector copy per product, negligible next to the product itself.
struct CurvatureTarget {
    var resolved: ResolvedObjective
    var kind: HessianOperator.Kind
    /// "all" or the block's label ("2.weight", "layer 2").
    var blockLabel: String
    var range: Range<Int>
    var isRestricted: Bool

    var parameterCount: Int { resolved.objective.parameterCount }
    var dimension: Int { range.count }

    func makeOperator(objective: Objective? = nil) throws(RPCError) -> RestrictedOperator<HessianOperator> {
        let base = HessianOperator(objective: objective ?? resolved.objective, parameters: resolved.parameters, kind: kind)
        do { return try RestrictedOperator(base, range: range) } catch { throw RPCError(curvature: error) }
    }

    /// A block vector embedded in a full parameter vector (zeros outside the block).
    func embed(_ v: [Double]) -> [Double] {
        if !isRestricted { return v }
        var full = [Double](repeating: 0, count: parameterCount)
        full.replaceSubrange(range, with: v)
        return full
    }

    /// The common part of every result: what was measured, on how many samples, in which precision.
    var summary: [String: JSON] {
        var members: [String: JSON] = [
            "samplesUsed": .int(resolved.objective.sampleCount),
            "precision": .string(resolved.objective.precision.rawValue),
            "operator": .string(kind.rawValue),
        ]
        if isRestricted {
            members["block"] = ["label": .string(blockLabel), "offset": .int(range.lowerBound), "count": .int(range.count)]
        }
        return members
    }
}

extension Server {
    /// Resolves the objective and the operator's block; errors as the client sees them.
    func curvatureTarget(_ request: ObjectiveRequest, _ options: OperatorOptions) throws(RPCError) -> CurvatureTarget {
        let resolved = try objective(request)
        let n = resolved.objective.parameterCount
        var label = "all", range = 0..<n
        if let block = options.block {
            do { (label, range) = try block.resolve(in: resolved.model.model) } catch { throw .invalidParams(error.description) }
        }
        return CurvatureTarget(
            resolved: resolved, kind: options.kind, blockLabel: label, range: range,
            isRestricted: options.block != nil)
    }

    /// Refuses a Lanczos run whose basis (`vectors` vectors of `dimension` doubles) would exceed
    /// `--max-lanczos-bytes`, before any work starts.
    func checkLanczosMemory(vectors: Int, dimension: Int) throws(RPCError) {
        let (bytes, overflow) = vectors.multipliedReportingOverflow(by: dimension)
        let requested = overflow ? Int.max : bytes.multipliedReportingOverflow(by: 8).overflow ? Int.max : bytes * 8
        guard requested <= workspace.limits.maxLanczosBytes else {
            throw .limitExceeded(
                "Lanczos memory", value: workspace.limits.maxLanczosBytes, requested: requested,
                flag: "--max-lanczos-bytes")
        }
    }

    /// S objectives on disjoint, contiguous, near-equal parts of the selected samples (for
    /// ``SubsetUncertainty``), with their sample counts.
    func subsetObjectives(_ target: CurvatureTarget, request: ObjectiveRequest, subsets: Int) throws(RPCError)
        -> (objectives: [Objective], counts: [Int])
    {
        let dataset = target.resolved.dataset.dataset
        let indices: [Int]
        do { indices = try request.samples.resolve(sampleCount: dataset.sampleCount) } catch { throw RPCError(from: error) }
        guard indices.count >= subsets else {
            throw .invalidParams(
                "`params.subsets` is \(subsets) but only \(indices.count) samples are selected; every subset needs at least one")
        }
        var objectives: [Objective] = [], counts: [Int] = []
        var start = 0
        for s in 0..<subsets {
            let count = indices.count / subsets + (s < indices.count % subsets ? 1 : 0)
            let part = Array(indices[start..<(start + count)])
            start += count
            do {
                // The subsets live together: they share one objective's budget for kept linearizations.
                objectives.append(
                    try Objective(
                        model: target.resolved.model.model, dataset: dataset, samples: .indices(part),
                        precision: request.precision,
                        linearizationBudget: Objective.defaultLinearizationBudget / subsets))
            } catch { throw RPCError(from: error) }
            counts.append(count)
        }
        return (objectives, counts)
    }
}

extension RPCError {
    /// Curvature errors: bad options are the client's (-32602), non-finite products and solver
    /// failures numerical (-31005); cancellation and model errors keep their own codes.
    init(curvature error: any Error) {
        switch error {
        case let rpc as RPCError: self = rpc
        case let model as ModelError: self = RPCError(from: model)
        case let curvature as CurvatureError:
            switch curvature {
            case .invalidArgument, .dimensionMismatch: self = .invalidParams(curvature.description)
            case .nonFiniteProduct, .eigensolverFailed: self = .numericalError(curvature.description)
            }
        default: self = RPCError(from: error)
        }
    }
}

extension RequestContext {
    /// Runs `body` between `$/progress` begin and end (sent only with a work-done token), mapping
    /// whatever it throws to the error the client sees.
    func curvatureWork<T>(_ title: String, _ body: () throws -> T) throws(RPCError) -> T {
        progress(.begin, title: title, percentage: 0)
        defer { progress(.end) }
        do { return try body() } catch { throw RPCError(curvature: error) }
    }
}

extension SubsetUncertainty.Result {
    var json: JSON {
        [
            "mean": .number(mean), "standardDeviation": .number(standardDeviation), "standardError": .number(standardError),
            "values": .numbers(values), "samplesPerSubset": .array(samplesPerSubset.map { .int($0) }), "subsets": .int(subsets),
        ]
    }
}
