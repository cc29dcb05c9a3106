import SaddleJSON
import SaddleModels
import SaddleRPC

/// `model/load`: a model from a spec and a safetensors file of weights (PyTorch state-dict names).
enum ModelLoad: RPCMethod {
    static let name = "model/load"
    struct Params: JSONDecodable {
        var spec: ModelSpec
        var weights: String
        var name: String?
        init(from reader: JSONReader) throws(JSONShapeError) {
            _ = try reader.object(allowing: ["spec", "weights", "name"])
            spec = try reader["spec"].decode(ModelSpec.self)
            weights = try reader["weights"].string(nonEmpty: true)
            name = try reader["name"].optionalString()
        }
    }
    typealias Result = JSON
}
