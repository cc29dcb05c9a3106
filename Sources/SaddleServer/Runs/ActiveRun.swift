import Foundation
import SaddleJSON
import SaddleRPC
import SaddleTraining
import Synchronization
import SaddleThreads

/// A run this daemon trains: the ``TrainingRun``, its event sink, and the sender thread that turns
/// step events into `run/step` notifications for the connection that started the run.
///
/// The sender drains the sink continuously (so the sink rarely drops), folds every event into
/// ``RunStats``, and sends the latest step at most `rate` times a second; the steps in between are
/// coalesced and counted in the next notification's `dropped` (plus any the sink itself dropped
/// while the sender was blocked writing to a slow client). Training never waits for it.
final class ActiveRun: Sendable {
    let entry: RunEntry
    let training: AnyTrainingRun
    let sink: EventSink
    let connection: Connection
    private let workspace: Workspace
    private let stats = Mutex(RunStats())
    /// Live diagnosis (`run/diagnosis`), fed by the event thread.
    let monitor: RunMonitor?
    private let finalized = Mutex(false)

    /// Called by the event thread once the run has ended and its last notifications are out.
    private let onRetire: @Sendable (ActiveRun) -> Void

    init(
        entry: RunEntry, training: AnyTrainingRun, sink: EventSink, connection: Connection, workspace: Workspace,
        monitor: RunMonitor?, onRetire: @escaping @Sendable (ActiveRun) -> Void = { _ in }
    ) {
        self.onRetire = onRetire
        self.monitor = monitor
        self.entry = entry
        self.training = training
        self.sink = sink
        self.connection = connection
        self.workspace = workspace
    }

    var isFinished: Bool { training.status.state == .finished }

    /// The `run/status` object: the run's state and the recent-step figures.
    var statusJSON: JSON {
        let status = training.status
        var o: [String: JSON] = [
            "run": .string(entry.runId), "name": .string(entry.name), "kind": .string(RunKind.own.rawValue),
            "active": .bool(status.state != .finished), "state": .string(status.state.rawValue), "step": .int(status.step),
            "totalSteps": .int(status.totalSteps), "epoch": .int(status.epoch), "model": .string(entry.model),
            "dataset": .string(entry.dataset), "precision": .string(entry.precision.rawValue),
            "batchSize": .int(entry.batchSize), "baseLr": .number(entry.learningRate),
        ]
        if let loss = status.lastLoss { o["lastLoss"] = .number(loss) }
        if let finish = status.finish {
            o["finishReason"] = .string(finish.name)
            if let m = finish.message { o["finishMessage"] = .string(m) }
        }
        o.merge(stats.withLock { $0.json }) { a, _ in a }
        return .object(o)
    }

    /// Writes the run's parameters (as of its pause or end) into its model.
    func writeBack() {
        do {
            try workspace.updateParameters(model: entry.model, training.parameters)
        } catch {
            logToStderr("run \(entry.runId): could not write parameters back into model \(entry.model): \(error.message)")
        }
    }

    /// Once the run has finished: writes its parameters back and releases the model. Idempotent.
    func finalize() {
        training.waitUntilFinished()
        let first = finalized.withLock { done in
            defer { done = true }
            return !done
        }
        guard first else { return }
        writeBack()
        try? workspace.setTrainingRun(model: entry.model, run: nil)
    }

    /// Starts the sender thread (one per run).
    func startSender() {
        NamedThread.start(name: "saddle.events.\(entry.runId)", stackSize: 1 << 20) { [self] in senderLoop() }
    }

    private func senderLoop() {
        let interval = entry.eventRate > 0 ? 1 / entry.eventRate : .infinity
        var pending: StepEvent?
        var dropped = 0
        var nextAllowed = 0.0
        while true {
            let timeout: Double? = pending == nil ? nil : max(0, nextAllowed - monotonicNow())
            let delivery = sink.take(timeout: timeout)
            // Without a pending step there is no timeout: an empty delivery means the sink was closed.
            if pending == nil && delivery.events.isEmpty && delivery.dropped == 0 { return }
            dropped += delivery.dropped
            var finished: RunFinished?
            for event in delivery.events {
                switch event {
                case .step(let step):
                    stats.withLock { $0.record(step) }
                    monitor?.record(step)
                    if pending != nil { dropped += 1 }
                    pending = step
                case .finished(let f):
                    finished = f
                }
            }
            if let finished {
                finalize()
                // The last step goes out whatever the rate, so a client always sees where the run ended.
                if let step = pending { send(step, dropped: dropped) }
                var params: [String: JSON] = [
                    "run": .string(finished.runId), "reason": .string(finished.reason.name), "steps": .int(finished.steps),
                ]
                if let m = finished.reason.message { params["message"] = .string(m) }
                if let l = finished.lastLoss { params["lastLoss"] = .number(l) }
                connection.notify("run/finished", params: .object(params))
                monitor?.finished()
                sink.close()
                onRetire(self)
                return
            }
            if entry.eventRate <= 0 {
                stats.withLock { $0.coalesced += dropped }
                pending = nil
                dropped = 0
            } else if let step = pending, monotonicNow() >= nextAllowed {
                send(step, dropped: dropped)
                pending = nil
                dropped = 0
                nextAllowed = monotonicNow() + interval
            }
        }
    }

    private func send(_ step: StepEvent, dropped: Int) {
        stats.withLock { s in
            s.coalesced += dropped
            if entry.eventRate > 0 { s.notificationsSent += 1 }
        }
        guard entry.eventRate > 0, case .object(var params) = step.json else { return }
        params["dropped"] = .int(dropped)
        connection.notify("run/step", params: .object(params))
    }
}

/// Seconds on a monotonic clock.
func monotonicNow() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}
