import SaddleJSON
import SaddleModels
import SaddleRPC

/// `model/save`: writes a model's weights as safetensors (and, optionally, its spec as JSON).
enum ModelSave: RPCMethod {
    static let name = "model/save"
    struct Params: JSONDecodable {
        var model: String
        var path: String
        var dtype: Safetensors.DType
        var specPath: String?
        init(from reader: JSONReader) throws(JSONShapeError) {
            _ = try reader.object(allowing: ["model", "path", "dtype", "specPath"])
            model = try reader["model"].string(nonEmpty: true)
            path = try reader["path"].string(nonEmpty: true)
            dtype = try reader["dtype"].oneOf(["F32", "F64"], default: "F64") == "F32" ? .f32 : .f64
            specPath = try reader["specPath"].optionalString()
        }
    }
    typealias Result = JSON
}
