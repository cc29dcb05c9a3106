import SaddleJSON
import SaddleRPC

/// `curvature/noise`: gradient-noise statistics (noise scale, covariance trace, pairwise cosine,
/// SNR) from the gradients of disjoint mini-batches drawn with a seed from the selected samples.
enum CurvatureNoise: RPCMethod {
    static let name = "curvature/noise"
    typealias Result = JSON

    struct Params: JSONDecodable {
        var request: ObjectiveRequest
        var batchSize: Int
        var batches: Int
        var seed: UInt64

        init(from reader: JSONReader) throws(JSONShapeError) {
            _ = try reader.object(allowing: ObjectiveRequest.fields.union(["batchSize", "batches", "seed"]))
            request = try ObjectiveRequest(from: reader)
            batchSize = try reader["batchSize"].int(min: 1)
            batches = try reader["batches"].int(default: 16, min: 2, max: 100_000)
            seed = try readSeed(reader["seed"])
        }
    }
}
