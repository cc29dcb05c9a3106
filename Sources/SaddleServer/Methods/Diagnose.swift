import SaddleDiagnosis
import SaddleJSON
import SaddleRPC

/// `diagnose`: why training stalls at a point (a model on a data set, evidence gathered now), or what a
/// given body of evidence says (no model needed). See protocol/diagnosis.md.
enum Diagnose: RPCMethod {
    static let name = "diagnose"
    typealias Result = JSON

    /// What to diagnose: a point to measure, or evidence already measured.
    enum Source: Sendable {
        case point(ObjectiveRequest, PointEvidenceOptions)
        case evidence(Evidence)
        /// A run's history (per rank for a distributed run), with evidence measured elsewhere when given.
        case run(String, PointEvidenceOptions, measured: Evidence?)
    }

    struct Params: JSONDecodable {
        var source: Source
        var thresholds: Thresholds

        static let pointFields: Set<String> = ["learningRate", "batchSize", "probes", "maxIterations"]
        static let commonFields: Set<String> = ["thresholds", "evidence", "run", "workDoneToken"]

        init(from reader: JSONReader) throws(JSONShapeError) {
            let members = try reader.object(allowing: ObjectiveRequest.fields.union(Self.pointFields).union(Self.commonFields))
            thresholds = try reader["thresholds"].decode(Thresholds.self)
            if members["evidence"] != nil && members["run"] != nil {
                for field in ["history", "ranks"] where !reader["evidence"][field].isAbsent {
                    throw reader["evidence"][field].fail("cannot be combined with `run`: the run's steps are its history")
                }
                if let first = members.keys.filter({ !Self.commonFields.contains($0) }).sorted().first {
                    throw reader[first].fail(
                        "cannot be combined with `run` and `evidence`: give the run, the evidence measured elsewhere, and optionally `thresholds`"
                    )
                }
                source = .run(
                    try reader["run"].string(nonEmpty: true), PointEvidenceOptions(thresholds: thresholds),
                    measured: try reader["evidence"].decode(Evidence.self))
                return
            }
            if members["evidence"] != nil {
                let extra = members.keys.filter { $0 != "evidence" && !Self.commonFields.contains($0) }.sorted()
                if let first = extra.first {
                    throw reader[first].fail(
                        "cannot be combined with `evidence`: give either `evidence` (and optionally `thresholds`) or `model` and `dataset`"
                    )
                }
                source = .evidence(try reader["evidence"].decode(Evidence.self))
                return
            }
            var options = PointEvidenceOptions(thresholds: thresholds)
            options.learningRate = try reader["learningRate"].optionalDouble(min: 0)
            options.batchSize = try reader["batchSize"].optionalInt(min: 1)
            options.maxIterations = try reader["maxIterations"].optionalInt(min: 1, max: 10_000)
            options.perturbation = try PerturbationSettings(from: reader["probes"])
            if members["run"] != nil {
                if let first = ["model", "dataset", "samples", "precision"].first(where: { members[$0] != nil }) {
                    throw reader[first].fail("cannot be combined with `run`: a run names its own model and data set")
                }
                source = .run(try reader["run"].string(nonEmpty: true), options, measured: nil)
                return
            }
            guard members["model"] != nil || members["dataset"] != nil else {
                throw reader.fail(
                    "needs `model` and `dataset` (diagnose a point), `run` (diagnose a run) or `evidence` (diagnose measured evidence)"
                )
            }
            source = .point(try ObjectiveRequest(from: reader), options)
        }
    }
}

/// The `probes` member of `diagnose`: whether and how to run the perturbation probe. Every field is
/// optional; the defaults are chosen at the point (see ``PointEvidenceOptions``).
struct PerturbationSettings: Sendable, JSONDecodable {
    /// nil: run it when the gradient is small and the curvature is not clearly negative.
    var enabled: Bool?
    var radius: Double?
    var steps: Int?
    var count: Int?
    var learningRate: Double?
    var seed: UInt64 = 0

    init() {}

    init(from reader: JSONReader) throws(JSONShapeError) {
        if reader.isAbsent { return }
        _ = try reader.object(allowing: ["perturbation", "radius", "steps", "count", "learningRate", "seed"])
        enabled = reader["perturbation"].isAbsent ? nil : try reader["perturbation"].bool()
        radius = try reader["radius"].optionalDouble(min: .leastNormalMagnitude)
        steps = try reader["steps"].optionalInt(min: 0, max: 10_000)
        count = try reader["count"].optionalInt(min: 1, max: 1_000)
        learningRate = try reader["learningRate"].optionalDouble(min: .leastNormalMagnitude)
        seed = UInt64(try reader["seed"].int(default: 0, min: 0))
    }
}
