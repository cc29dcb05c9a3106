import SaddleJSON
import SaddleModels
import SaddleRPC

/// `model/list`: every model the daemon holds (without specs).
enum ModelList: RPCMethod {
    static let name = "model/list"
    typealias Params = Empty
    typealias Result = JSON
}
