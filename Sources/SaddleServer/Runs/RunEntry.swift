import SaddleJSON
import SaddleModels
import SaddleTraining

/// What the daemon knows about a run it trains, by run id: which model and data set, and the
/// settings that diagnosis compares its evidence against (learning rate, batch size).
///
/// Kept by the ``RunRegistry`` for the daemon's lifetime (also after the run ends); runs from an
/// earlier daemon process or ingested from outside have no entry (their settings, if any, are in
/// the stored config that `run/list` shows).
public struct RunEntry: Sendable {
    public var runId: String
    public var name: String
    /// Id of the model the run trains (its parameters are written back when the run pauses or ends).
    public var model: String
    /// Id of the data set it draws batches from.
    public var dataset: String
    public var optimizer: OptimizerConfig
    public var pipeline: PipelineConfig
    public var precision: Precision
    public var seed: UInt64
    /// Steps the run will take (epochs × batches per epoch when started with `epochs`).
    public var totalSteps: Int
    /// Most `run/step` notifications per second sent to the starting connection; 0 when disabled.
    public var eventRate: Double

    /// The optimizer's base learning rate (the schedule scales it per step; step events carry the actual one).
    public var learningRate: Double { optimizer.lr }
    public var batchSize: Int { pipeline.batchSize }

    /// The normalized configuration stored with the run (defaults filled in, ids resolved).
    public var json: JSON {
        [
            "model": .string(model), "dataset": .string(dataset), "optimizer": optimizer.json, "pipeline": pipeline.json,
            "precision": .string(precision.rawValue), "seed": .int(Int64(bitPattern: seed)), "steps": .int(totalSteps),
            "name": .string(name),
        ]
    }
}
