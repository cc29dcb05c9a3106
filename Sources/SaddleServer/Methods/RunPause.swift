import SaddleJSON
import SaddleRPC

/// `run/pause`: see protocol/runs.md.
enum RunPause: RPCMethod {
    static let name = "run/pause"
    struct Params: JSONDecodable {
        var run: String
        /// Pause right after completing this step (a stop point) rather than at the end of the current one.
        var atStep: Int?
        init(from reader: JSONReader) throws(JSONShapeError) {
            _ = try reader.object(allowing: ["run", "atStep"])
            run = try reader["run"].string(nonEmpty: true)
            atStep = try reader["atStep"].optionalInt(min: 0)
        }
    }
    typealias Result = JSON
}
