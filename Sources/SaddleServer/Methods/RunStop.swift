import SaddleJSON
import SaddleRPC

/// `run/stop`: see protocol/runs.md.
enum RunStop: RPCMethod {
    static let name = "run/stop"
    typealias Params = RunRef
    typealias Result = JSON
}
