import SaddleJSON
import SaddleRPC

/// `escape/probe`: the loss at θ ± t·d̂ along a direction (by default the eigenvector of λ_min), and
/// optionally the step to the best point found. See protocol/diagnosis.md.
enum EscapeProbeMethod: RPCMethod {
    static let name = "escape/probe"
    typealias Result = JSON

    struct Params: JSONDecodable {
        var request: ObjectiveRequest
        /// A workspace direction id; nil computes the λ_min eigenvector now.
        var direction: String?
        /// Distances along the unit direction; nil gives ``EscapeLadder/defaultStepSizes(parameterNorm:)``.
        var stepSizes: [Double]?
        var apply: Bool
        var maxIterations: Int?

        init(from reader: JSONReader) throws(JSONShapeError) {
            _ = try reader.object(allowing: ObjectiveRequest.fields.union(["direction", "stepSizes", "apply", "maxIterations"]))
            request = try ObjectiveRequest(from: reader)
            direction = reader["direction"].isAbsent ? nil : try reader["direction"].string(nonEmpty: true)
            if let steps = try reader["stepSizes"].optionalArray() {
                guard !steps.isEmpty, steps.count <= 64 else {
                    throw reader["stepSizes"].fail("must hold 1 to 64 step sizes, got \(steps.count)")
                }
                var values: [Double] = []
                for step in steps { values.append(try step.double(min: .leastNormalMagnitude)) }
                stepSizes = values
            }
            apply = try reader["apply"].bool(default: false)
            maxIterations = try reader["maxIterations"].optionalInt(min: 1, max: 10_000)
        }
    }
}
