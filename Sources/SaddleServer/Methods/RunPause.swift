import SaddleJSON
import SaddleRPC

/// `run/pause`: see protocol/runs.md.
enum RunPause: RPCMethod {
    static let name = "run/pause"
    typealias Params = RunRef
    typealias Result = JSON
}
