import SaddleCurvature
import SaddleJSON
import SaddleModels
import SaddleRPC

extension Server {
    /// `curvature/landscape`: a 1-D or 2-D loss slice. Random directions are filter-normalized
    /// (Li et al. 2018: one filter per row of each 2-D weight tensor; biases and norm parameters get 0)
    /// and stored as directions so a client can reuse them.
    func curvatureLandscape(_ p: CurvatureLandscape.Params, _ context: RequestContext) throws(RPCError) -> JSON {
        let resolved = try objective(p.request)
        let model = resolved.model
        let theta = resolved.parameters
        var ids: [String] = [], vectors: [[Double]] = []
        switch p.directions {
        case .stored(let stored):
            for id in stored {
                ids.append(id)
                vectors.append(try workspace.direction(id, model: model.id).vector)
            }
        case .random:
            let filters = model.model.blocks.filter { $0.role == .weight && $0.shape.count == 2 }.flatMap {
                LossLandscape.rowFilters(offset: $0.range.lowerBound, rows: $0.shape[0], columns: $0.shape[1])
            }
            for i in 0..<p.dimensions {
                let seed = p.seed &+ UInt64(i)
                let vector: [Double]
                do { vector = try LossLandscape.filterNormalizedDirection(theta: theta, filters: filters, seed: seed) } catch {
                    throw RPCError(curvature: error)
                }
                let entry = workspace.addDirection(
                    model: model.id, vector: vector,
                    label: "random filter-normalized (seed \(seed))", eigenvalue: nil)
                ids.append(entry.id)
                vectors.append(vector)
            }
        }
        let axis = LossLandscape.Axis(lower: p.lower, upper: p.upper, points: p.points)
        let objective = resolved.objective
        let control = context.curvatureControl
        return try context.curvatureWork("curvature/landscape") {
            let loss: ([Double]) throws -> Double = { try objective.loss($0) }
            var result: [String: JSON] = [
                "directions": .array(ids.map { .string($0) }), "samplesUsed": .int(objective.sampleCount),
                "precision": .string(objective.precision.rawValue),
            ]
            if vectors.count == 1 {
                let s = try LossLandscape.slice1D(loss: loss, theta: theta, direction: vectors[0], axis: axis, control: control)
                result["alphas"] = .numbers(s.alphas)
                result["losses"] = .numbers(s.losses)
                result["centerLoss"] = .number(s.centerLoss)
            } else {
                let s = try LossLandscape.slice2D(
                    loss: loss, theta: theta, directions: (vectors[0], vectors[1]),
                    xAxis: axis, yAxis: axis, control: control)
                result["alphas"] = .numbers(s.alphas)
                result["betas"] = .numbers(s.betas)
                result["losses"] = .array(s.losses.map { .numbers($0) })
                result["centerLoss"] = .number(s.centerLoss)
            }
            return .object(result)
        }
    }
}
