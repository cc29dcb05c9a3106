import SaddleJSON
import SaddleRPC

/// `curvature/blocks`: λmax, λmin (and optionally the trace) of every parameter block's diagonal
/// Hessian block in one request.
enum CurvatureBlocks: RPCMethod {
    static let name = "curvature/blocks"
    typealias Result = JSON

    struct Params: JSONDecodable {
        var request: ObjectiveRequest
        var options: OperatorOptions
        var largest: Int
        var smallest: Int
        var tolerance: Double
        var maxIterations: Int?
        var trace: Bool
        var probes: Int
        var seed: UInt64

        init(from reader: JSONReader) throws(JSONShapeError) {
            _ = try reader.object(allowing: ObjectiveRequest.fields.union(
                ["operator", "largest", "smallest", "tolerance", "maxIterations", "trace", "probes", "seed"]))
            request = try ObjectiveRequest(from: reader)
            options = try OperatorOptions(from: reader, allowSubsets: false)
            largest = try reader["largest"].int(default: 1, min: 0, max: 100)
            smallest = try reader["smallest"].int(default: 1, min: 0, max: 100)
            if largest + smallest == 0 { throw reader["largest"].fail("and `params.smallest` are both 0; ask for at least one eigenvalue") }
            tolerance = try reader["tolerance"].double(default: 1e-6, min: 0)
            maxIterations = try reader["maxIterations"].optionalInt(min: 1, max: 1_000_000)
            trace = try reader["trace"].bool(default: false)
            probes = try reader["probes"].int(default: 100, min: 2, max: 1_000_000)
            seed = try readSeed(reader["seed"])
        }
    }
}
