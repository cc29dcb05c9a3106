import SaddleJSON
import SaddleRPC

/// `run/resume`: see protocol/runs.md.
enum RunResume: RPCMethod {
    static let name = "run/resume"
    typealias Params = RunRef
    typealias Result = JSON
}
