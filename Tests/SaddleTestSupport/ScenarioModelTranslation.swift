import SaddleJSON
import SaddleModels

/// model.json (a neutral description: dense `layers` with in, out, activation, bias, and a loss name)
/// translated to Saddle's ``ModelSpec`` the way a user would write it. Unknown activations or losses
/// and chained widths that do not match are errors, not defaults: a silent identity would make the
/// scenario compare a different model.
enum ScenarioModelTranslation {
    static func spec(_ description: JSON) throws -> ModelSpec {
        let r = JSONReader(description, path: "model")
        let layers = try r["layers"].array(minCount: 1)
        var width = try layers[0]["in"].int(min: 1)
        let input = width
        var specs: [LayerSpec] = []
        for layer in layers {
            let into = try layer["in"].int(min: 1)
            guard into == width else { throw layer["in"].fail("is \(into) but the previous layer gives \(width)") }
            width = try layer["out"].int(min: 1)
            let activation: Activation
            switch try layer["activation"].oneOf(["identity", "tanh", "relu", "sigmoid"]) {
            case "tanh": activation = .tanh
            case "relu": activation = .relu
            case "sigmoid": activation = .sigmoid
            default: activation = .identity
            }
            specs.append(.dense(DenseSpec(units: width, bias: try layer["bias"].bool(), activation: activation)))
        }
        let loss: Loss
        switch try r["loss"].oneOf(["mse", "softmax_cross_entropy"]) {
        case "mse": loss = .mse
        default: loss = .softmaxCrossEntropy
        }
        return try ModelSpec(input: input, layers: specs, loss: loss)
    }
}
