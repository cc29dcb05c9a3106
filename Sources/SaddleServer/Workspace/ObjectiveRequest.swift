import SaddleCurvature
import SaddleJSON
import SaddleModels
import SaddleRPC

/// The common params of every request that evaluates a model on data: which model, which data set,
/// which samples, which precision. Read from `{"model", "dataset", "samples", "precision"}` where
/// `samples` is omitted (all), `{"start": 0, "count": 128}`, or a list of indices.
struct ObjectiveRequest: Sendable {
    var model: String
    var dataset: String
    var samples: SampleSelection
    var precision: Precision

    /// The field names this reads, for `JSONReader.object(allowing:)`.
    static let fields: Set<String> = ["model", "dataset", "samples", "precision", "workDoneToken"]

    init(from reader: JSONReader, defaultPrecision: Precision = .double) throws(JSONShapeError) {
        model = try reader["model"].string(nonEmpty: true)
        dataset = try reader["dataset"].string(nonEmpty: true)
        precision = try reader["precision"].enumCase(Precision.self, default: defaultPrecision)
        let samples = reader["samples"]
        if samples.isAbsent {
            self.samples = .all
        } else if case .array? = samples.value {
            var indices: [Int] = []
            for element in try samples.array(minCount: 1) { indices.append(try element.int(min: 0)) }
            self.samples = .indices(indices)
        } else {
            _ = try samples.object(allowing: ["start", "count"])
            self.samples = .range(start: try samples["start"].int(default: 0, min: 0), count: try samples["count"].int(min: 1))
        }
    }
}

/// An objective ready to evaluate, with the entries it was built from.
struct ResolvedObjective {
    var model: Workspace.ModelEntry
    var dataset: Workspace.DatasetEntry
    var objective: Objective
    var parameters: [Double] { model.model.parameters }
}

extension Server {
    /// Resolves the model and data set and builds their ``Objective``; errors as the client sees them.
    func objective(_ request: ObjectiveRequest) throws(RPCError) -> ResolvedObjective {
        let model = try workspace.model(request.model)
        let dataset = try workspace.dataset(request.dataset)
        do {
            let objective = try Objective(
                model: model.model, dataset: dataset.dataset, samples: request.samples,
                precision: request.precision)
            return ResolvedObjective(model: model, dataset: dataset, objective: objective)
        } catch {
            throw RPCError(from: error)
        }
    }
}

extension RPCError {
    /// Model errors: mismatched shapes are the client's parameters (-32602), file problems -31004.
    init(from error: ModelError) {
        switch error {
        case .spec(let shape): self = .invalidParams(shape.description)
        case .shapeMismatch(let m): self = .invalidParams(m)
        case .weightsMismatch(let m), .safetensors(let m), .io(let m): self = .fileError(m)
        }
    }
}

extension RequestContext {
    /// Cancellation and progress for the curvature algorithms: they check between products and
    /// report as they go; `$/progress` goes out when the client gave a work-done token.
    var curvatureControl: CurvatureControl {
        let token = cancellation
        let context = self
        return CurvatureControl(
            checkCancelled: { try token.check() },
            progress: { fraction, message in context.progress(.report, message: message, percentage: 100 * fraction) })
    }
}
