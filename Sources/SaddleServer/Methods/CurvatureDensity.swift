import SaddleJSON
import SaddleRPC

/// `curvature/density`: the eigenvalue density by stochastic Lanczos quadrature (Ghorbani et al.
/// 2019): quadrature nodes and weights, the Gaussian-broadened density on a grid, negative mass.
enum CurvatureDensity: RPCMethod {
    static let name = "curvature/density"
    typealias Result = JSON

    struct Params: JSONDecodable {
        var request: ObjectiveRequest
        var options: OperatorOptions
        var probes: Int
        var steps: Int
        var sigma: Double?
        var relativeSigma: Double
        var gridPoints: Int
        var seed: UInt64

        init(from reader: JSONReader) throws(JSONShapeError) {
            _ = try reader.object(
                allowing: ObjectiveRequest.fields.union(["operator", "block"]).union(
                    ["probes", "steps", "sigma", "relativeSigma", "gridPoints", "seed"]))
            request = try ObjectiveRequest(from: reader)
            options = try OperatorOptions(from: reader, allowSubsets: false)
            probes = try reader["probes"].int(default: 10, min: 1, max: 10_000)
            steps = try reader["steps"].int(default: 80, min: 1, max: 100_000)
            sigma = try reader["sigma"].optionalDouble(min: 0)
            if sigma == 0 { throw reader["sigma"].fail("must be positive, got 0") }
            relativeSigma = try reader["relativeSigma"].double(default: 0.01, min: 0)
            if relativeSigma == 0 { throw reader["relativeSigma"].fail("must be positive, got 0") }
            gridPoints = try reader["gridPoints"].int(default: 200, min: 2, max: 100_000)
            seed = try readSeed(reader["seed"])
        }
    }
}
