import SaddleJSON
import SaddleModels

/// What the daemon says about a model: its id, shape and parameter blocks (in flat-vector order,
/// named as PyTorch's `nn.Sequential` state dict names them).
struct ModelDescription: JSONEncodable {
    var entry: Workspace.ModelEntry
    var includeSpec = true

    var json: JSON {
        let model = entry.model
        var members: [String: JSON] = [
            "id": .string(entry.id),
            "name": entry.name.map(JSON.string) ?? .null,
            "parameterCount": .int(model.parameterCount),
            "inputWidth": .int(model.inputWidth),
            "outputWidth": .int(model.outputWidth),
            "loss": .string(model.spec.loss.rawValue),
            "source": .string(entry.source),
            "trainingRun": entry.trainingRun.map(JSON.string) ?? .null,
            "blocks": .array(
                model.blocks.map { block in
                    [
                        "name": .string(block.name), "shape": .array(block.shape.map { .int($0) }),
                        "offset": .int(block.range.lowerBound), "count": .int(block.range.count), "layer": .int(block.layer),
                    ]
                }),
        ]
        if includeSpec { members["spec"] = model.spec.json }
        return .object(members)
    }
}

/// `{"model": "m1"}`: the params of methods that name one model.
struct ModelReference: JSONDecodable {
    var model: String
    init(from reader: JSONReader) throws(JSONShapeError) {
        _ = try reader.object(allowing: ["model", "workDoneToken"])
        model = try reader["model"].string(nonEmpty: true)
    }
}
