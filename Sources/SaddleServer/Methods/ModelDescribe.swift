import SaddleJSON
import SaddleModels
import SaddleRPC

/// `model/describe`: one model's description, spec included.
enum ModelDescribe: RPCMethod {
    static let name = "model/describe"
    typealias Params = ModelReference
    typealias Result = JSON
}
