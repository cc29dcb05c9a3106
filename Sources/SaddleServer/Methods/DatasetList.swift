import SaddleJSON
import SaddleRPC

/// `dataset/list`: every data set the daemon holds.
enum DatasetList: RPCMethod {
    static let name = "dataset/list"
    typealias Params = Empty
    typealias Result = JSON
}
