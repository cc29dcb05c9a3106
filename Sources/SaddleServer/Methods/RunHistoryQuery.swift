import SaddleJSON
import SaddleRPC

/// `run/history`: a run's committed steps in a range, per rank, optionally downsampled.
enum RunHistoryQuery: RPCMethod {
    static let name = "run/history"
    struct Params: JSONDecodable {
        var run: String
        var fromStep: Int
        var toStep: Int
        var rank: Int?
        var maxPoints: Int?
        init(from reader: JSONReader) throws(JSONShapeError) {
            _ = try reader.object(allowing: ["run", "fromStep", "toStep", "rank", "maxPoints"])
            run = try reader["run"].string(nonEmpty: true)
            fromStep = try reader["fromStep"].int(default: 0, min: 0)
            toStep = try reader["toStep"].int(default: .max, min: fromStep)
            rank = try reader["rank"].optionalInt(min: 0)
            maxPoints = try reader["maxPoints"].optionalInt(min: 1, max: 1_000_000)
        }
    }
    typealias Result = JSON
}
