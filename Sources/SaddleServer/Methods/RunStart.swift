import SaddleJSON
import SaddleModels
import SaddleRPC
import SaddleTraining

/// `run/start`: trains a model on a data set on a thread of its own; answers at once with the run's status.
enum RunStart: RPCMethod {
    static let name = "run/start"
    struct Params: JSONDecodable {
        var model: String
        var dataset: String
        var optimizer: OptimizerConfig
        var pipeline: PipelineConfig
        var length: RunLength
        var seed: UInt64
        var precision: Precision
        var name: String?
        /// Most `run/step` notifications per second; 0 when disabled.
        var eventRate: Double

        static let defaultBatchSize = 32
        static let defaultEventRate = 20.0

        init(from reader: JSONReader) throws(JSONShapeError) {
            _ = try reader.object(allowing: [
                "model", "dataset", "optimizer", "pipeline", "steps", "epochs", "seed", "precision", "name", "events",
                "workDoneToken",
            ])
            model = try reader["model"].string(nonEmpty: true)
            dataset = try reader["dataset"].string(nonEmpty: true)
            optimizer = try reader["optimizer"].decode(OptimizerConfig.self)
            pipeline = try reader["pipeline"].decodeIfPresent(PipelineConfig.self) ?? PipelineConfig(batchSize: Self.defaultBatchSize)
            switch (reader["steps"].isAbsent, reader["epochs"].isAbsent) {
            case (false, true): length = .steps(try reader["steps"].int(min: 1, max: 1_000_000_000))
            case (true, false): length = .epochs(try reader["epochs"].int(min: 1, max: 1_000_000))
            case (false, false): throw reader["epochs"].fail("cannot be given with `steps`; give one of them")
            case (true, true): throw reader["steps"].fail("is required (or give `epochs`): how long the run trains")
            }
            seed = UInt64(try reader["seed"].int(default: 0, min: 0))
            precision = try reader["precision"].enumCase(Precision.self, default: .float)
            name = try reader["name"].isAbsent ? nil : reader["name"].string(nonEmpty: true)
            let events = reader["events"]
            if events.isAbsent {
                eventRate = Self.defaultEventRate
            } else {
                _ = try events.object(allowing: ["rate", "enabled"])
                let rate = try events["rate"].double(default: Self.defaultEventRate, min: 0.01, max: 10_000)
                eventRate = try events["enabled"].bool(default: true) ? rate : 0
            }
        }
    }
    typealias Result = JSON
}
