import SaddleJSON
import SaddleRPC

/// `curvature/gradient`: loss, gradient norm, per-block gradient norms and per-activation unit
/// health (dead ReLUs, saturated tanh/sigmoid) of a model on data.
enum CurvatureGradient: RPCMethod {
    static let name = "curvature/gradient"
    typealias Result = JSON

    struct Params: JSONDecodable {
        var request: ObjectiveRequest

        init(from reader: JSONReader) throws(JSONShapeError) {
            _ = try reader.object(allowing: ObjectiveRequest.fields)
            request = try ObjectiveRequest(from: reader)
        }
    }
}
