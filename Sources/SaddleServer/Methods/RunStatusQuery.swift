import SaddleJSON
import SaddleRPC

/// `run/status`: see protocol/runs.md.
enum RunStatusQuery: RPCMethod {
    static let name = "run/status"
    typealias Params = RunRef
    typealias Result = JSON
}
