import Foundation
import SaddleJSON
import Synchronization

/// Extreme Hessian eigenvalues the daemon measured at one step of a run (`curvature/eigen`, cheap settings).
struct EigenPoint: Sendable {
    var step: Int
    var lambdaMax: Double
    var lambdaMin: Double
}

/// A verdict the daemon sent as `run/diagnosis` while the run trained (or the final one).
struct VerdictPoint: Sendable {
    var step: Int
    var diagnosis: JSON
    var final: Bool
    var verdict: String { DiagnosisOutput.verdict(diagnosis) }
}

/// What a live run has shown so far: filled from notifications (reader thread) and by the driver.
struct RunSnapshot: Sendable {
    var run = ""
    var totalSteps = 0
    /// Steps seen in `run/step` (the notifications are coalesced: not every step is here).
    var steps: [Int] = []
    var losses: [Double] = []
    var gradNorms: [Double] = []
    var verdicts: [VerdictPoint] = []
    var eigen: [EigenPoint] = []
    var finished: JSON?
    var startedAt = Date()
    var pausedSeconds = 0.0
    var interrupted = false
    /// Why the latest curvature measurement failed, if it did.
    var eigenError: String?

    /// Steps completed (the last step index seen plus one).
    var completed: Int { (steps.last ?? -1) + 1 }
    var finalDiagnosis: JSON? { verdicts.last(where: \.final)?.diagnosis }
    var latestDiagnosis: JSON? { verdicts.last?.diagnosis }

    /// Steps per second of training, pauses for curvature excluded; NaN before two steps.
    func rate(now: Date = Date()) -> Double {
        let seconds = now.timeIntervalSince(startedAt) - pausedSeconds
        guard completed > 1, seconds > 0 else { return .nan }
        return Double(completed) / seconds
    }

    /// Seconds left at the current rate; NaN when unknown.
    func secondsLeft(now: Date = Date()) -> Double {
        let r = rate(now: now)
        guard r.isFinite, r > 0 else { return .nan }
        return Double(max(0, totalSteps - completed)) / r
    }
}

/// A run started from a run file, watched live: notifications update a ``RunSnapshot``; ``drive``
/// measures curvature at checkpoints (pause, `curvature/eigen`, resume) and calls back to present.
final class LiveRun: Sendable {
    private let state = Mutex(RunSnapshot())
    private let changed = NSCondition()

    /// The eigen request of the dashboard and the report: cheap on purpose (a rough λ_max/λ_min).
    static let eigenSettings: [String: JSON] = ["largest": 1, "smallest": 1, "tolerance": 1e-3, "maxIterations": 30]

    init() {}

    var snapshot: RunSnapshot { state.withLock { $0 } }

    func update(_ body: (inout RunSnapshot) -> Void) {
        changed.lock()
        state.withLock { body(&$0) }
        changed.broadcast()
        changed.unlock()
    }

    /// For `DaemonClient`'s notification callback (reader thread). Notifications of other runs are ignored.
    func handle(_ method: String, _ params: JSON) {
        let run = params["run"]?.stringValue
        update { s in
            guard s.run.isEmpty || run == s.run else { return }
            switch method {
            case "run/step":
                guard let step = params["step"]?.int64Value else { return }
                s.steps.append(Int(step))
                s.losses.append(params["loss"]?.doubleValue ?? .nan)
                s.gradNorms.append(params["gradNorm"]?.doubleValue ?? .nan)
            case "run/diagnosis":
                guard let diagnosis = params["diagnosis"] else { return }
                s.verdicts.append(
                    VerdictPoint(
                        step: Int(params["step"]?.int64Value ?? 0), diagnosis: diagnosis,
                        final: params["final"]?.boolValue ?? false))
            case "run/finished":
                s.finished = params
            default: break
            }
        }
    }

    /// Waits up to `timeout` for any change.
    func waitForChange(timeout: TimeInterval) {
        changed.lock()
        _ = changed.wait(until: Date().addingTimeInterval(timeout))
        changed.unlock()
    }

    /// Drives the run to its end: every `tick` seconds (and on each change) calls `present`; at every
    /// multiple of `checkpointEvery` steps before the last (nil: never while training) the run pauses exactly
    /// there (`run/pause` with `atStep`, requested as soon as the previous checkpoint is done and answered
    /// while the run trains on), λ_max/λ_min are measured and the run resumes; at the end they are measured
    /// once more and the final `run/diagnosis` is awaited (up to `finalWait` s). Returns early when interrupted.
    func drive(
        client: DaemonClient, status: JSON, checkpointEvery: Int?, tick: TimeInterval = 0.1,
        finalWait: TimeInterval = 300, present: (RunSnapshot) -> Void
    ) {
        let model = status["model"] ?? .null, dataset = status["dataset"] ?? .null
        let run = status["run"]?.stringValue ?? ""
        let total = Int(status["totalSteps"]?.int64Value ?? 0)
        var pending = false
        // The end measurement covers the last step, so checkpoints stop short of it.
        func schedule(_ step: Int) {
            guard step < total else { return }
            requestPause(client: client, run: run, atStep: step)
            pending = true
        }
        if let every = checkpointEvery { schedule(every) }
        while true {
            waitForChange(timeout: tick)
            let s = snapshot
            if s.interrupted { return }
            present(s)
            if s.finished != nil { break }
            guard pending,
                let answer = checkpointAnswer.withLock({ a in
                    defer { a = nil }; return a
                })
            else { continue }
            pending = false
            guard let every = checkpointEvery else { continue }
            guard case .success(let paused) = answer, let step = paused["step"]?.int64Value.map({ Int($0) }) else {
                // Refused: the run ended first (the end measurement follows), or it was past the step already
                // (a fast run and a short interval): then the next multiple after where it is.
                let now = try? client.call("run/status", ["run": .string(run)])
                if now?["state"]?.stringValue != "finished", let at = now?["step"]?.int64Value {
                    schedule((Int(at) / every + 1) * every)
                }
                continue
            }
            let pausedAt = Date()
            measureEigen(client: client, model: model, dataset: dataset, step: step)
            // The next stop point goes out before the resume, and the daemon sets it first (pause and resume take
            // effect in the order they arrive), so even a short interval is not missed.
            schedule((step / every + 1) * every)
            _ = try? client.call("run/resume", ["run": .string(run)])
            update { $0.pausedSeconds += Date().timeIntervalSince(pausedAt) }
        }
        let s = snapshot
        let last = Int(s.finished?["steps"]?.int64Value ?? Int64(s.completed))
        if s.eigen.last?.step != last {
            measureEigen(client: client, model: model, dataset: dataset, step: last)
        }
        present(snapshot)
        let deadline = Date().addingTimeInterval(finalWait)
        while snapshot.finalDiagnosis == nil && !snapshot.interrupted && Date() < deadline {
            waitForChange(timeout: tick)
        }
        present(snapshot)
    }

    /// The answer to the pending checkpoint pause, once it has come (taken by ``drive``).
    private let checkpointAnswer = Mutex<Result<JSON, any Error>?>(nil)

    /// `run/pause` with `atStep`, sent now (so the daemon sets the stop point before a `run/resume` sent after it)
    /// and answered on a thread of its own, so that ``drive`` keeps presenting progress while the run trains up to
    /// the checkpoint; the answer wakes ``drive``. A run that ends first answers with an error (and one stopped on
    /// Ctrl-C does so too, so the thread never outlives the run).
    private func requestPause(client: DaemonClient, run: String, atStep step: Int) {
        let sent = Result { try client.send("run/pause", ["run": .string(run), "atStep": .int(step)]) }
        let thread = Thread { [self] in
            let answer = sent.flatMap { request in Result { try client.answer(request) } }
            changed.lock()
            checkpointAnswer.withLock { $0 = answer }
            changed.broadcast()
            changed.unlock()
        }
        thread.name = "saddle checkpoint"
        thread.start()
    }

    /// One cheap `curvature/eigen` at the model's current parameters; failures are skipped (the
    /// dashboard then shows the previous figures).
    private func measureEigen(client: DaemonClient, model: JSON, dataset: JSON, step: Int) {
        var params = Self.eigenSettings
        params["model"] = model
        params["dataset"] = dataset
        do {
            let result = try client.call("curvature/eigen", .object(params))
            guard let top = result["largest"]?[0]?["value"]?.doubleValue,
                let bottom = result["smallest"]?[0]?["value"]?.doubleValue
            else { throw RunFileLauncher.Failure(description: "curvature/eigen answered without eigenvalues") }
            update { $0.eigen.append(EigenPoint(step: step, lambdaMax: top, lambdaMin: bottom)) }
        } catch {
            update { $0.eigenError = "\(error)" }
        }
    }
}
