import SaddleJSON
import SaddleModels
import SaddleRPC
import SaddleTraining

/// `run/start`: trains a model on a data set on a thread of its own; answers at once with the run's status.
enum RunStart: RPCMethod {
    static let name = "run/start"
    struct Params: JSONDecodable {
        /// What the run trains on: workspace ids, or a run file whose model and data the daemon creates.
        enum Source: Sendable {
            case ids(model: String, dataset: String)
            case runFile(RunFile, directory: String?)
        }
        var source: Source
        var optimizer: OptimizerConfig
        var pipeline: PipelineConfig
        var length: RunLength
        var seed: UInt64
        var precision: Precision
        var name: String?
        /// Most `run/step` notifications per second; 0 when disabled.
        var eventRate: Double
        /// Whether `run/diagnosis` is sent as the verdict changes and when the run ends.
        var diagnose: Bool

        static let defaultBatchSize = 32
        static let defaultEventRate = 20.0

        init(from reader: JSONReader) throws(JSONShapeError) {
            let settings: JSONReader
            if reader["runFile"].isAbsent {
                _ = try reader.object(allowing: [
                    "model", "dataset", "optimizer", "pipeline", "steps", "epochs", "seed", "precision", "name", "events",
                    "workDoneToken",
                ])
                source = .ids(
                    model: try reader["model"].string(nonEmpty: true), dataset: try reader["dataset"].string(nonEmpty: true))
                settings = reader
            } else {
                _ = try reader.object(allowing: ["runFile", "runFileDirectory", "events", "workDoneToken"])
                let file = reader["runFile"]
                _ = try file.object(allowing: RunFile.fields)
                source = .runFile(try RunFile(from: file), directory: try reader["runFileDirectory"].optionalString())
                settings = file
            }
            optimizer = try settings["optimizer"].decode(OptimizerConfig.self)
            pipeline =
                try settings["pipeline"].decodeIfPresent(PipelineConfig.self) ?? PipelineConfig(batchSize: Self.defaultBatchSize)
            switch (settings["steps"].isAbsent, settings["epochs"].isAbsent) {
            case (false, true): length = .steps(try settings["steps"].int(min: 1, max: 1_000_000_000))
            case (true, false): length = .epochs(try settings["epochs"].int(min: 1, max: 1_000_000))
            case (false, false): throw settings["epochs"].fail("cannot be given with `steps`; give one of them")
            case (true, true): throw settings["steps"].fail("is required (or give `epochs`): how long the run trains")
            }
            seed = UInt64(try settings["seed"].int(default: 0, min: 0))
            precision = try settings["precision"].enumCase(Precision.self, default: .float)
            name = try settings["name"].isAbsent ? nil : settings["name"].string(nonEmpty: true)
            let events = reader["events"]
            if events.isAbsent {
                eventRate = Self.defaultEventRate
                diagnose = true
            } else {
                _ = try events.object(allowing: ["rate", "enabled", "diagnosis"])
                let rate = try events["rate"].double(default: Self.defaultEventRate, min: 0.01, max: 10_000)
                eventRate = try events["enabled"].bool(default: true) ? rate : 0
                diagnose = try events["diagnosis"].bool(default: true)
            }
        }
    }
    typealias Result = JSON
}
