import SaddleJSON
import SaddleModels
import SaddleRPC

/// `model/create`: a model from a spec, initialized as the spec says (seeded).
enum ModelCreate: RPCMethod {
    static let name = "model/create"
    struct Params: JSONDecodable {
        var spec: ModelSpec
        var name: String?
        init(from reader: JSONReader) throws(JSONShapeError) {
            _ = try reader.object(allowing: ["spec", "name"])
            spec = try reader["spec"].decode(ModelSpec.self)
            name = try reader["name"].optionalString()
        }
    }
    typealias Result = JSON
}
