import SaddleJSON
import SaddleRPC

/// `curvature/landscape`: the loss on a line or plane through the current parameters, along random
/// filter-normalized directions (Li et al. 2018, stored so they can be reused) or stored directions.
enum CurvatureLandscape: RPCMethod {
    static let name = "curvature/landscape"
    typealias Result = JSON

    enum Directions: Sendable, Equatable {
        case random
        case stored([String])
    }

    struct Params: JSONDecodable {
        var request: ObjectiveRequest
        var directions: Directions
        var dimensions: Int
        var lower: Double
        var upper: Double
        var points: Int
        var seed: UInt64

        init(from reader: JSONReader) throws(JSONShapeError) {
            _ = try reader.object(
                allowing: ObjectiveRequest.fields.union(["directions", "dimensions", "range", "points", "seed"]))
            request = try ObjectiveRequest(from: reader)
            let field = reader["directions"]
            let dimensionsGiven = try reader["dimensions"].optionalInt(min: 1, max: 2)
            if field.isAbsent {
                directions = .random
            } else if case .string? = field.value {
                guard try field.string() == "random" else {
                    throw field.fail("must be \"random\" or a list of one or two direction ids")
                }
                directions = .random
            } else {
                var ids: [String] = []
                for element in try field.array(minCount: 1, maxCount: 2) { ids.append(try element.string(nonEmpty: true)) }
                directions = .stored(ids)
                if let given = dimensionsGiven, given != ids.count {
                    throw reader["dimensions"].fail("is \(given) but `params.directions` lists \(ids.count) direction(s)")
                }
            }
            if case .stored(let ids) = directions { dimensions = ids.count } else { dimensions = dimensionsGiven ?? 1 }
            let range = reader["range"]
            if range.isAbsent {
                (lower, upper) = (-1, 1)
            } else {
                let bounds = try range.array(minCount: 2, maxCount: 2)
                (lower, upper) = (try bounds[0].double(), try bounds[1].double())
                guard lower < upper else {
                    throw range.fail("must be [lower, upper] with lower < upper, got [\(lower), \(upper)]")
                }
            }
            points = try reader["points"].int(default: 21, min: 2, max: 101)
            seed = try readSeed(reader["seed"])
        }
    }
}
