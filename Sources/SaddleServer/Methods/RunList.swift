import SaddleJSON
import SaddleRPC

/// `run/list`: every run in the store, own and ingested, newest first.
enum RunList: RPCMethod {
    static let name = "run/list"
    typealias Params = Empty
    typealias Result = JSON
}
