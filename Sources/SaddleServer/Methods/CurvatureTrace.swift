import SaddleJSON
import SaddleRPC

/// `curvature/trace`: Hutchinson's estimate of the trace of the Hessian (or Gauss–Newton matrix),
/// with its standard error; optionally the spread over disjoint data subsets.
enum CurvatureTrace: RPCMethod {
    static let name = "curvature/trace"
    typealias Result = JSON

    struct Params: JSONDecodable {
        var request: ObjectiveRequest
        var options: OperatorOptions
        var probes: Int
        var targetRelativeStandardError: Double?
        var seed: UInt64

        init(from reader: JSONReader) throws(JSONShapeError) {
            _ = try reader.object(
                allowing: ObjectiveRequest.fields.union(OperatorOptions.fields).union(
                    ["probes", "targetRelativeStandardError", "seed"]))
            request = try ObjectiveRequest(from: reader)
            options = try OperatorOptions(from: reader)
            probes = try reader["probes"].int(default: 100, min: 2, max: 1_000_000)
            targetRelativeStandardError = try reader["targetRelativeStandardError"].optionalDouble(min: 0)
            seed = try readSeed(reader["seed"])
        }
    }
}
