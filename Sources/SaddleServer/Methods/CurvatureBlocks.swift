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
        var lanczos: LanczosSettings
        var trace: Bool
        var probes: Int
        var seed: UInt64

        init(from reader: JSONReader) throws(JSONShapeError) {
            _ = try reader.object(
                allowing: ObjectiveRequest.fields.union(LanczosSettings.fields).union(
                    ["operator", "trace", "probes", "seed"]))
            request = try ObjectiveRequest(from: reader)
            options = try OperatorOptions(from: reader, allowSubsets: false)
            lanczos = try LanczosSettings(from: reader, maxCount: 100)
            trace = try reader["trace"].bool(default: false)
            probes = try reader["probes"].int(default: 100, min: 2, max: 1_000_000)
            seed = try readSeed(reader["seed"])
        }
    }
}
