import SaddleJSON
import SaddleModels
import SaddleRPC

/// `model/dispose`: forgets a model and its directions.
enum ModelDispose: RPCMethod {
    static let name = "model/dispose"
    typealias Params = ModelReference
    typealias Result = JSON
}
