import Foundation
import SaddleJSON
import SaddleMath
import SaddleModels
import SaddleThreads

/// The loss and gradient at `params` on `batch`: writes ∂loss/∂params into `grad` (`params.count` long,
/// zero-filled before each call unless the run was made with `zeroGradients: false`, in which case it
/// holds leftovers that the function must overwrite) and returns the loss. May throw to end the run as
/// failed. Called on the run's own thread only.
public typealias GradientFunction<T> = @Sendable (_ params: [T], _ batch: Batch<T>, _ grad: inout [T]) throws -> T

/// How long a run trains.
public enum RunLength: Sendable, Equatable {
    case steps(Int)
    /// Whole passes over the data set: epochs × the pipeline's batches per epoch steps.
    case epochs(Int)
}

/// A run's state as `run/status` reports it.
public struct RunStatus: Sendable, Equatable, JSONEncodable {
    public var runId: String
    public var state: RunState
    /// Steps completed.
    public var step: Int
    public var totalSteps: Int
    public var epoch: Int
    public var lastLoss: Double?
    public var finish: FinishReason?

    public static func == (a: RunStatus, b: RunStatus) -> Bool { a.json == b.json }

    public var json: JSON {
        var o: [String: JSON] = [
            "run": .string(runId), "state": .string(state.rawValue), "step": .int(step),
            "totalSteps": .int(totalSteps), "epoch": .int(epoch),
        ]
        if let lastLoss { o["lastLoss"] = .number(lastLoss) }
        if let finish {
            o["finishReason"] = .string(finish.name)
            if let m = finish.message { o["finishMessage"] = .string(m) }
        }
        return .object(o)
    }
}

/// A training run on a thread of its own: pulls batches from a ``DataPipeline``, calls the gradient
/// function, applies the ``Optimizer``, and reports each step to the ``RunStore`` (every step) and
/// an ``EventSink`` (which may coalesce), never blocking on either.
///
/// Control is prompt: ``pause()`` and ``stop()`` take effect at the end of the current step;
/// ``pause(atStep:)`` at the end of a given one (through the same pause); a stop while the run waits for
/// data cancels the pipeline and ends the run at once. Step events carry the
/// 0-based step index (the optimizer's update index t), rank 0, the data wait measured by the
/// pipeline and the compute time (gradient + update) measured here; samplesPerSecond is
/// rows / (wait + compute). A non-finite loss is recorded and ends the run as `diverged` before
/// the update is applied.
public final class TrainingRun<T: BLASScalar>: Sendable {
    public let id: String
    public let name: String
    public let totalSteps: Int
    private let control: Guarded<RunControl<T>>
    private let job: Guarded<RunJob<T>?>
    private let pipeline: DataPipeline<T>
    private let store: RunStore?
    private let sink: EventSink?
    private let config: JSON
    private let zeroGradients: Bool

    /// - Parameters:
    ///   - config: stored with the run (the `run/start` params as given).
    ///   - seed: seeds the optimizer's gradient noise; the pipeline has its own seed.
    ///   - zeroGradients: false when `gradient` overwrites every entry of `grad` (an `Evaluator`'s
    ///     `lossAndGradient` does), which spares a parameter-sized fill per step (about 2% of a step of a
    ///     784-256-256-10 MLP at batch 128). The numbers are the same either way for such a function.
    public init(
        id: String, name: String? = nil, parameters: [T], gradient: @escaping GradientFunction<T>,
        pipeline: DataPipeline<T>, optimizer: OptimizerConfig, length: RunLength, seed: UInt64,
        store: RunStore? = nil, sink: EventSink? = nil, config: JSON = .null, zeroGradients: Bool = true
    ) {
        self.zeroGradients = zeroGradients
        self.id = id
        self.name = name ?? id
        switch length {
        case .steps(let n): totalSteps = max(0, n)
        case .epochs(let e): totalSteps = max(0, e) * pipeline.batchesPerEpoch
        }
        self.pipeline = pipeline
        self.store = store
        self.sink = sink
        self.config = config
        control = Guarded(RunControl(parameters: parameters))
        job = Guarded(
            RunJob(
                gradient: gradient, optimizer: Optimizer(config: optimizer, parameterCount: parameters.count, seed: seed)))
    }

    /// Records the run in the store and starts its thread. Calling it again does nothing.
    /// - Throws: the store's error (e.g. a duplicate id); the run does not start then.
    public func start() throws(StoreError) {
        guard
            let job = job.withLock({ j -> RunJob<T>? in
                defer { j = nil }; return j
            })
        else { return }
        if let store {
            try store.createRun(id: id, name: name, kind: .own, config: config)
            try store.updateRunState(id: id, state: .running)
        }
        control.withLock(notify: true) { $0.state = .running }
        NamedThread.start(name: "saddle.run.\(id)") { [self] in self.loop(job) }
    }

    /// Pauses at the end of the current step. No effect unless running.
    public func pause() {
        control.withLock(notify: true) { c in
            c.pauseRequested = true
            c.stopPointPause = nil  // the pause is this caller's too now: withdrawing the stop point keeps it
        }
    }

    /// Sets a stop point: the run pauses right after completing step `step` (so ``status`` then says
    /// `step` and ``parameters`` are those after exactly `step` updates), through the same path as
    /// ``pause()``. `step == totalSteps` pauses after the last step, before the run finishes. One stop point
    /// at a time; a ``pause()`` meanwhile pauses the run early and leaves the stop point pending, so the run
    /// still pauses there after ``resume()``. Wait for it with ``waitForPause(atStep:timeout:)``.
    /// - Throws, in this order of checks: ``RunControlError/finished(step:)`` once the run has ended;
    ///   ``RunControlError/pausePending(atStep:)`` while a stop point is pending;
    ///   ``RunControlError/stepReached(current:requested:)`` when `step` steps are already done;
    ///   ``RunControlError/beyondEnd(totalSteps:requested:)`` when `step > totalSteps`.
    public func pause(atStep step: Int) throws(RunControlError) {
        let total = totalSteps
        let refusal: RunControlError? = control.withLock { c in
            if c.state == .finished { return .finished(step: c.step) }
            if let pending = c.pauseAtStep { return .pausePending(atStep: pending) }
            if c.step >= step { return .stepReached(current: c.step, requested: step) }
            if step > total { return .beyondEnd(totalSteps: total, requested: step) }
            c.pauseAtStep = step
            return nil
        }
        if let refusal { throw refusal }
    }

    /// Withdraws the stop point `step` set by ``pause(atStep:)``, so that the run keeps going: while it is
    /// pending it is dropped; once the run has reached it and paused (or is pausing) there for it alone, the
    /// run is resumed. Returns false when there is nothing to withdraw: the run has ended, went past the step,
    /// or pauses there for a ``pause()`` too (that pause stands).
    @discardableResult
    public func withdrawPause(atStep step: Int) -> Bool {
        control.withLock(notify: true) { c in
            if c.pauseAtStep == step {
                c.pauseAtStep = nil
                return true
            }
            guard c.stopPointPause == step, c.pauseRequested, c.finished == nil else { return false }
            c.pauseRequested = false
            c.stopPointPause = nil
            return true
        }
    }

    /// Waits up to `timeout` seconds for the run to pause at the stop point `step` (``pause(atStep:)``);
    /// nil when the time passes first, so that a caller can check for cancellation between waits.
    public func waitForPause(atStep step: Int, timeout: Double) -> PauseAtStepOutcome? {
        // The run thread does not broadcast after every step (it would cost a wake-up per step), so a
        // stop point overtaken by a resume is seen at the deadline; pausing and finishing broadcast.
        control.wait(
            until: { c in c.state == .finished || c.step > step || (c.state == .paused && c.step == step) },
            deadline: Date(timeIntervalSinceNow: timeout)
        ) { c, ready -> PauseAtStepOutcome? in
            guard ready else { return nil }
            if c.state == .paused && c.step == step { return .paused }
            // A run that diverges at the stop point's step ends there without pausing: finished, too.
            if c.state == .finished { return .finished(step: c.step) }
            return .overtaken(step: c.step)
        }
    }

    /// Resumes a paused run.
    public func resume() {
        control.withLock(notify: true) { c in
            c.pauseRequested = false
            c.stopPointPause = nil
        }
    }

    /// Stops at the end of the current step (or at once while waiting for data or paused).
    public func stop() {
        control.withLock(notify: true) { $0.stopRequested = true }
        pipeline.cancel()
    }

    public var status: RunStatus {
        control.withLock { c in
            RunStatus(
                runId: id, state: c.state, step: c.step, totalSteps: totalSteps, epoch: c.epoch, lastLoss: c.lastLoss,
                finish: c.finished?.reason)
        }
    }

    /// The parameters as of the last pause or the end of the run (the initial ones before that):
    /// copying them every step would cost O(n) per step.
    public var parameters: [T] { control.withLock { $0.parameters } }

    /// Replaces the parameters of a paused run, so that ``resume()`` continues from `parameters` (e.g. after
    /// an escape step along negative curvature). The optimizer's state (momentum, Adam moments, step count)
    /// is kept: the run goes on as if it had arrived there itself. Checked and applied under the run's lock,
    /// so a concurrent ``resume()`` either sees the new parameters or the call fails.
    /// - Throws: ``RunControlError/notPaused(_:)`` unless the run is paused now (and not being stopped);
    ///   ``RunControlError/parameterCount(expected:got:)`` for a vector of the wrong length. Non-finite
    ///   values are the caller's business: a non-finite loss ends the run as diverged.
    public func replaceParameters(_ parameters: [T]) throws(RunControlError) {
        let refusal: RunControlError? = control.withLock(notify: true) { c in
            guard c.state == .paused, c.pauseRequested, !c.stopRequested else { return .notPaused(c.state) }
            guard parameters.count == c.parameters.count else {
                return .parameterCount(expected: c.parameters.count, got: parameters.count)
            }
            c.parameters = parameters
            c.parametersReplaced = true
            return nil
        }
        if let refusal { throw refusal }
    }

    /// Waits until the run ends (or `timeout` seconds pass) and returns how it ended.
    public func waitUntilFinished(timeout: Double? = nil) -> RunFinished? {
        control.wait(until: { $0.finished != nil }, deadline: timeout.map { Date(timeIntervalSinceNow: $0) }) { c, _ in
            c.finished
        }
    }

    // MARK: The loop (run thread only)

    // Instantiated from other modules: specialized here so the hot loop is not generic code.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    private func loop(_ job: RunJob<T>) {
        var optimizer = job.optimizer
        var params = control.withLock { $0.parameters }
        var grad = [T](repeating: 0, count: params.count)
        var lastLoss: Double?
        var step = 0
        var reason: FinishReason = .completed
        run: while step < totalSteps {
            if case .stop = checkControl(params: &params) { reason = .stopped; break }
            var loaded: LoadedBatch<T>
            do {
                loaded = try pipeline.next()
            } catch {
                reason = control.withLock({ $0.stopRequested }) ? .stopped : .failed(error.description)
                break
            }
            let computeStart = monotonicSeconds()
            if zeroGradients { grad.withUnsafeMutableBufferPointer { $0.update(repeating: 0) } }
            let loss: Double
            do {
                loss = Double(try job.gradient(params, loaded.batch, &grad))
            } catch {
                reason = .failed("gradient function failed at step \(step): \(error)")
                break
            }
            var info: OptimizerStepInfo?
            if loss.isFinite { info = optimizer.step(params: &params, grad: &grad) }
            let compute = monotonicSeconds() - computeStart
            // Hand the batch's storage back for the loader to refill (moved out, so that it is uniquely held).
            let rows = loaded.batch.rows
            var used = Batch<T>(inputs: [], rows: 0, inputWidth: 0, targets: .classes([]))
            swap(&used, &loaded.batch)
            pipeline.recycle(consume used)
            let elapsed = loaded.waitSeconds + compute
            let event = StepEvent(
                runId: id, rank: 0, step: step, epoch: loaded.epoch, loss: loss, gradNorm: info?.gradNorm,
                lr: info?.lr ?? optimizer.nextLearningRate, dataWaitSeconds: loaded.waitSeconds, computeSeconds: compute,
                samplesPerSecond: elapsed > 0 ? Double(rows) / elapsed : nil, fingerprint: loaded.fingerprint,
                labelHistogram: loaded.labelHistogram)
            store?.enqueue([event])
            sink?.publish(.step(event))
            lastLoss = loss
            step += 1
            let epoch = loaded.epoch
            let stopPoint = control.withLock { c -> Bool in
                c.step = step
                c.epoch = epoch
                c.lastLoss = loss
                // A stop point turns into a pause request: the pause itself is `checkControl`'s, as for `pause()`.
                guard c.pauseAtStep == step, loss.isFinite else { return false }
                c.pauseAtStep = nil
                if !c.pauseRequested { c.stopPointPause = step }
                c.pauseRequested = true
                return true
            }
            if !loss.isFinite {
                reason = .diverged(step: step - 1)
                break run
            }
            // After the last step the loop ends before checking control again: pause here for a stop point there.
            if stopPoint && step == totalSteps, case .stop = checkControl(params: &params) { reason = .stopped; break }
        }
        pipeline.cancel()
        if let store {
            do {
                try store.finishRun(id: id, reason: reason)
            } catch {
                if case .failed = reason {} else { reason = .failed("run store: \(error)") }
                try? store.finishRun(id: id, reason: reason)
            }
        }
        let finished = RunFinished(runId: id, reason: reason, steps: step, lastLoss: lastLoss)
        // Publish before marking finished, so whoever sees `finished` in the status finds the event queued.
        sink?.publish(.finished(finished))
        let finalParams = params
        control.withLock(notify: true) { c in
            c.parameters = finalParams
            c.state = .finished
            c.finished = finished
        }
    }

    private enum ControlAction { case proceed, stop }

    /// Honors pause (blocking here until resumed or stopped) and stop requests between steps; takes
    /// over parameters replaced while paused (``replaceParameters(_:)``).
    private func checkControl(params: inout [T]) -> ControlAction {
        let paused: Bool = control.withLock(notify: true) { c in
            guard c.pauseRequested && !c.stopRequested else { return false }
            c.state = .paused
            c.parameters = params
            return true
        }
        if paused {
            try? store?.updateRunState(id: id, state: .paused)
            let replaced: [T]? = control.wait(until: { !$0.pauseRequested || $0.stopRequested }, notify: true) { c, _ in
                if !c.stopRequested { c.state = .running }
                defer { c.parametersReplaced = false }
                return c.parametersReplaced ? c.parameters : nil
            }
            if let replaced { params = replaced }
            if !control.withLock({ $0.stopRequested }) { try? store?.updateRunState(id: id, state: .running) }
        }
        return control.withLock { $0.stopRequested } ? .stop : .proceed
    }
}

struct RunControl<T: Sendable> {
    var parameters: [T]
    var state: RunState = .created
    var step = 0
    var epoch = 0
    var lastLoss: Double?
    var pauseRequested = false
    /// A stop point set by ``TrainingRun/pause(atStep:)``: after completing this step the run requests its pause.
    var pauseAtStep: Int?
    /// The step of a stop point that requested the current pause by itself (no ``TrainingRun/pause()`` shares
    /// it), so that withdrawing the stop point can resume the run; cleared by `pause()` and `resume()`.
    var stopPointPause: Int?
    var stopRequested = false
    /// Set by ``TrainingRun/replaceParameters(_:)``; the run thread takes `parameters` over on resuming.
    var parametersReplaced = false
    var finished: RunFinished?
}

/// Why a run refused a control request.
public enum RunControlError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The request needs a paused run; the run is in this state.
    case notPaused(RunState)
    /// A parameter vector of the wrong length.
    case parameterCount(expected: Int, got: Int)
    /// ``TrainingRun/pause(atStep:)``: the run has ended, after this many steps.
    case finished(step: Int)
    /// ``TrainingRun/pause(atStep:)``: the run has already completed `current` ≥ `requested` steps.
    case stepReached(current: Int, requested: Int)
    /// ``TrainingRun/pause(atStep:)``: the run ends after `totalSteps` < `requested` steps.
    case beyondEnd(totalSteps: Int, requested: Int)
    /// ``TrainingRun/pause(atStep:)``: a stop point at this step is pending already.
    case pausePending(atStep: Int)

    public var description: String {
        switch self {
        case .notPaused(let state): return "the run is \(state.rawValue), not paused"
        case .parameterCount(let expected, let got): return "expected \(expected) parameters, got \(got)"
        case .finished(let step): return "the run has finished, at step \(step)"
        case .stepReached(let current, let requested):
            return "the run is at step \(current), past atStep \(requested); atStep must be greater than \(current)"
        case .beyondEnd(let total, let requested):
            return "the run ends after \(total) steps, before atStep \(requested); atStep must be at most \(total)"
        case .pausePending(let step):
            return "a pause at step \(step) is already pending; wait for it, or cancel that request first"
        }
    }
}

/// How a wait for a stop point (``TrainingRun/pause(atStep:)``) ended.
public enum PauseAtStepOutcome: Sendable, Equatable {
    /// The run is paused right after the stop point's step.
    case paused
    /// The run ended (completed, stopped, diverged, failed) after `step` steps, before pausing at the stop point.
    case finished(step: Int)
    /// The run went past the stop point without pausing there (a `resume()` came between the stop point and
    /// the pause); it is at `step` now.
    case overtaken(step: Int)
}

/// What only the run thread uses, handed over once by ``TrainingRun/start()``.
struct RunJob<T: BLASScalar>: Sendable {
    let gradient: GradientFunction<T>
    let optimizer: Optimizer<T>
}
