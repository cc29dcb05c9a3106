import SaddleJSON
import SaddleMath
import SaddleModels
import SaddleRPC
import SaddleTraining

/// A ``TrainingRun`` in either precision, so the registry holds runs of both alike.
enum AnyTrainingRun: Sendable {
    case float(TrainingRun<Float>)
    case double(TrainingRun<Double>)

    var status: RunStatus {
        switch self {
        case .float(let r): return r.status
        case .double(let r): return r.status
        }
    }

    func start() throws(StoreError) {
        switch self {
        case .float(let r): try r.start()
        case .double(let r): try r.start()
        }
    }

    func pause() {
        switch self {
        case .float(let r): r.pause()
        case .double(let r): r.pause()
        }
    }

    /// See ``TrainingRun/pause(atStep:)``.
    func pause(atStep step: Int) throws(RunControlError) {
        switch self {
        case .float(let r): try r.pause(atStep: step)
        case .double(let r): try r.pause(atStep: step)
        }
    }

    /// See ``TrainingRun/withdrawPause(atStep:)``.
    func withdrawPause(atStep step: Int) -> Bool {
        switch self {
        case .float(let r): return r.withdrawPause(atStep: step)
        case .double(let r): return r.withdrawPause(atStep: step)
        }
    }

    /// See ``TrainingRun/waitForPause(atStep:timeout:)``.
    func waitForPause(atStep step: Int, timeout: Double) -> PauseAtStepOutcome? {
        switch self {
        case .float(let r): return r.waitForPause(atStep: step, timeout: timeout)
        case .double(let r): return r.waitForPause(atStep: step, timeout: timeout)
        }
    }

    func resume() {
        switch self {
        case .float(let r): r.resume()
        case .double(let r): r.resume()
        }
    }

    func stop() {
        switch self {
        case .float(let r): r.stop()
        case .double(let r): r.stop()
        }
    }

    /// The parameters as of the last pause or the end of the run, in double precision.
    var parameters: [Double] {
        switch self {
        case .float(let r): return r.parameters.map { Double($0) }
        case .double(let r): return r.parameters
        }
    }

    /// Replaces a paused run's parameters (given in double precision; a single-precision run rounds them),
    /// so that it resumes from them. See ``TrainingRun/replaceParameters(_:)``.
    func replaceParameters(_ parameters: [Double]) throws(RunControlError) {
        switch self {
        case .float(let r): try r.replaceParameters(parameters.map { Float($0) })
        case .double(let r): try r.replaceParameters(parameters)
        }
    }

    @discardableResult
    func waitUntilFinished(timeout: Double? = nil) -> RunFinished? {
        switch self {
        case .float(let r): return r.waitUntilFinished(timeout: timeout)
        case .double(let r): return r.waitUntilFinished(timeout: timeout)
        }
    }

    /// Builds a run of `model` on `dataset` in precision `T`: a ``DataPipeline`` over the data set
    /// and a gradient function with its own ``Evaluator`` (used on the run's thread only).
    static func make<T: BLASScalar>(
        _ type: T.Type, entry: RunEntry, model: Model, dataset: Dataset, store: RunStore, sink: EventSink
    ) throws(RPCError) -> TrainingRun<T> {
        let pipeline: DataPipeline<T>
        do {
            pipeline = try DataPipeline(source: DatasetBatchSource<T>(dataset: dataset), config: entry.pipeline, seed: entry.seed)
        } catch {
            throw .invalidParams("`params.pipeline`: \(error)")
        }
        let evaluator = EvaluatorBox(model.makeEvaluator(T.self))
        let loss = model.spec.loss
        let gradient: GradientFunction<T> = { params, batch, grad in
            try evaluator.evaluator.lossAndGradient(parameters: params, batch: batch.suiting(loss), gradient: &grad)
        }
        return TrainingRun(
            id: entry.runId, name: entry.name, parameters: model.parameters(as: T.self), gradient: gradient,
            pipeline: pipeline, optimizer: entry.optimizer, length: .steps(entry.totalSteps), seed: entry.seed,
            store: store, sink: sink, config: entry.json, zeroGradients: false)
    }
}

/// Hands an ``Evaluator`` (not `Sendable`: one per thread) to a run's gradient function. Sound
/// because only the run's own thread calls that function.
private final class EvaluatorBox<T: BLASScalar>: @unchecked Sendable {
    let evaluator: Evaluator<T>
    init(_ evaluator: Evaluator<T>) { self.evaluator = evaluator }
}
