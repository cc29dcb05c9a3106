import SaddleCurvature
import SaddleJSON
import SaddleRPC

/// `curvature/eigen`: the k largest and k smallest eigenvalues of the Hessian (or Gauss–Newton
/// matrix) by Lanczos (default) or PyHessian's power iteration, with residuals; eigenvectors kept
/// as named directions on request; optionally the spread over disjoint data subsets.
enum CurvatureEigen: RPCMethod {
    static let name = "curvature/eigen"
    typealias Result = JSON

    enum Method: String, CaseIterable, Sendable { case lanczos, power }

    struct Params: JSONDecodable {
        var request: ObjectiveRequest
        var options: OperatorOptions
        /// How many eigenvalues at each end, the tolerance (relative to the spectrum's scale for Lanczos; the relative
        /// change of the Rayleigh quotient for power iteration, PyHessian's criterion) and the iteration cap.
        var lanczos: LanczosSettings
        var method: Method
        var keepVectors: Bool
        var seed: UInt64

        init(from reader: JSONReader) throws(JSONShapeError) {
            _ = try reader.object(
                allowing: ObjectiveRequest.fields.union(OperatorOptions.fields).union(LanczosSettings.fields).union(
                    ["method", "keepVectors", "seed"]))
            request = try ObjectiveRequest(from: reader)
            options = try OperatorOptions(from: reader)
            lanczos = try LanczosSettings(from: reader, maxCount: 1000)
            method = try reader["method"].enumCase(Method.self, default: .lanczos)
            keepVectors = try reader["keepVectors"].bool(default: false)
            seed = try readSeed(reader["seed"])
            if method == .power {
                if lanczos.largest > 1 || lanczos.smallest > 1 {
                    throw reader["method"].fail(
                        "\"power\" finds one largest and one smallest eigenvalue; use \"lanczos\" for more")
                }
                if keepVectors {
                    throw reader["keepVectors"].fail(
                        "needs \"method\": \"lanczos\" (power iteration keeps no vectors of both ends)")
                }
            }
        }
    }
}
