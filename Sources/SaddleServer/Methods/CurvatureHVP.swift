import SaddleJSON
import SaddleRPC

/// `curvature/hvp`: one exact Hessian- (or Gauss–Newton-) vector product, for a vector the client
/// sends (small models) or a stored direction.
enum CurvatureHVP: RPCMethod {
    static let name = "curvature/hvp"
    typealias Result = JSON

    enum Vector: Sendable {
        case values([Double])
        case direction(String)
    }

    struct Params: JSONDecodable {
        var request: ObjectiveRequest
        var options: OperatorOptions
        var vector: Vector

        init(from reader: JSONReader) throws(JSONShapeError) {
            _ = try reader.object(allowing: ObjectiveRequest.fields.union(["operator", "vector", "direction"]))
            request = try ObjectiveRequest(from: reader)
            options = try OperatorOptions(from: reader, allowSubsets: false)
            switch (reader["vector"].isAbsent, reader["direction"].isAbsent) {
            case (false, true): vector = .values(try reader["vector"].doubles())
            case (true, false): vector = .direction(try reader["direction"].string(nonEmpty: true))
            default:
                throw reader.fail("needs exactly one of `vector` (numbers, one per parameter) and `direction` (a direction id)")
            }
        }
    }
}
