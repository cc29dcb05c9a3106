import Foundation
import SaddleJSON
import SaddleModels
import SaddleRPC
import SaddleTraining

extension Server {
    func registerRunMethods(_ table: inout MethodTable) {
        table.register(RunStart.self, execution: .background) { params, context in
            try self.startRun(params, connection: context.connection)
        }
        // Pause and resume change the run's control state in message order (a `run/pause` with `atStep` sent
        // before a `run/resume` has set its stop point when the resume lands) and wait on threads of their own.
        table.register(
            RunPause.self,
            start: { params, _ in
                let run = try self.controllableRun(params.run, action: "pause")
                if let step = params.atStep {
                    try self.setStopPoint(run, atStep: step)
                    return (run, step)
                }
                switch run.training.status.state {
                case .paused: throw RPCError.invalidState("run \(params.run) is already paused; run/resume continues it")
                case .finished: throw self.finishedError(run, action: "pause")
                case .created, .running: break
                }
                run.training.pause()
                return (run, nil)
            },
            finish: { (started: (run: ActiveRun, atStep: Int?), context) in
                let run = started.run
                if let step = started.atStep { return try self.waitForStopPoint(run, atStep: step, context: context) }
                _ = waitFor(seconds: Self.controlWaitSeconds) { run.training.status.state != .running }
                if run.training.status.state == .paused { run.writeBack() }
                return run.statusJSON
            })
        table.register(
            RunResume.self,
            start: { params, _ in
                let run = try self.controllableRun(params.run, action: "resume")
                switch run.training.status.state {
                case .paused: break
                case .finished: throw self.finishedError(run, action: "resume")
                case .created, .running:
                    throw RPCError.invalidState("run \(params.run) is not paused; only a paused run can be resumed")
                }
                let pausedAt = run.training.status.step
                run.training.resume()
                return (run, pausedAt)
            },
            finish: { (started: (run: ActiveRun, pausedAt: Int), _) in
                // A resumed run takes a step before it can pause again, so a new step means it has resumed even if a
                // stop point (`run/pause` with `atStep`) has paused it again meanwhile.
                _ = waitFor(seconds: Self.controlWaitSeconds) {
                    let status = started.run.training.status
                    return status.state != .paused || status.step != started.pausedAt
                }
                return started.run.statusJSON
            })
        // A trained run's stop is signalled in message order too (after a `run/pause` or `run/resume` sent before
        // it); an ingested run's stop marks it finished once the ingests that arrived before it have answered.
        table.register(
            RunStop.self,
            start: { params, _ -> (run: ActiveRun?, id: String, barrier: Int) in
                guard let run = self.runs.run(params.run) else {
                    return (nil, params.run, self.runs.ingestOrder.barrier(params.run))
                }
                if run.training.status.state == .finished { throw self.finishedError(run, action: "stop") }
                run.training.stop()
                return (run, params.run, 0)
            },
            finish: { (started: (run: ActiveRun?, id: String, barrier: Int), _) in
                if let run = started.run {
                    run.finalize()
                    return run.statusJSON
                }
                // An ingested run: its client says it is over, after the ingests it sent before.
                let id = started.id
                self.runs.ingestOrder.wait(id, for: started.barrier)
                let store = try self.runs.openStore()
                let record = try self.storedRun(id, store: store)
                guard record.kind == .ingested else { throw self.notActiveError(record, action: "stop") }
                guard record.state != .finished else {
                    throw RPCError.invalidState("run \(id) has already finished (\(record.finishReason ?? "stopped"))")
                }
                do throws(StoreError) { try store.finishRun(id: record.id, reason: .stopped) } catch {
                    throw RPCError.storeError(error.description)
                }
                return try self.storedStatus(id, store: store)
            })
        table.register(RunStatusQuery.self) { params, _ in
            if let run = self.runs.run(params.run) { return run.statusJSON }
            if let status = self.runs.finishedStatus(params.run) { return status }
            return try self.storedStatus(params.run, store: try self.runs.openStore())
        }
        table.register(RunList.self, execution: .background) { _, _ in
            let store = try self.runs.openStore()
            do throws(StoreError) {
                let items = try store.listRuns().map { record -> JSON in
                    var o: [String: JSON] = [
                        "run": .string(record.id), "name": .string(record.name), "kind": .string(record.kind.rawValue),
                        "state": .string(record.state.rawValue), "steps": .int(record.stepCount),
                        "active": .bool(false), "config": record.config, "createdAt": .double(record.createdAt),
                        "updatedAt": .double(record.updatedAt),
                    ]
                    if let r = record.finishReason { o["finishReason"] = .string(r) }
                    if let m = record.finishMessage { o["finishMessage"] = .string(m) }
                    if let run = self.runs.run(record.id) {
                        let status = run.training.status
                        o["state"] = .string(status.state.rawValue)
                        o["active"] = .bool(status.state != .finished)
                        o["steps"] = .int(status.step)
                    }
                    return .object(o)
                }
                return ["runs": .array(items)]
            } catch {
                throw RPCError.storeError(error.description)
            }
        }
        table.register(RunHistoryQuery.self, execution: .background) { params, _ in
            let store = try self.runs.openStore()
            _ = try self.storedRun(params.run, store: store)
            do throws(StoreError) {
                return try store.history(
                    runId: params.run, fromStep: params.fromStep, toStep: params.toStep,
                    rank: params.rank, maxPoints: params.maxPoints
                ).json
            } catch {
                throw RPCError.storeError(error.description)
            }
        }
        // Ingests take a ticket on arrival, so that a later `run/stop` of the run waits for them (IngestOrder).
        table.register(
            RunIngest.self,
            start: { params, _ in (params, params.run.map { ($0, self.runs.ingestOrder.begin($0)) }) },
            finish: { (started: (params: RunIngest.Params, ticket: (run: String, number: Int)?), _) in
                defer { if let t = started.ticket { self.runs.ingestOrder.finish(t.run, ticket: t.number) } }
                return try self.ingest(started.params)
            })
    }

    /// How long `run/pause`, `run/resume` wait for the run thread to reach the state (it does so at
    /// the end of the current step).
    static let controlWaitSeconds = 30.0

    /// How often a `run/pause` with `atStep` checks for cancellation while it waits (well under the 100 ms
    /// a cancelled request gets).
    static let stopPointPollSeconds = 0.02

    // MARK: Handlers

    /// `run/pause` with `atStep`: sets the stop point and answers once the run has paused there (no time
    /// limit: it may be minutes away). Cancelling the request withdraws the stop point (and undoes a pause
    /// there that no plain `run/pause` shares), so the run keeps going.
    /// Sets the stop point of `run/pause` with `atStep` (the refusals are the request's answer).
    private func setStopPoint(_ run: ActiveRun, atStep step: Int) throws(RPCError) {
        do throws(RunControlError) {
            try run.training.pause(atStep: step)
        } catch {
            switch error {
            case .finished: throw finishedError(run, action: "pause")
            default: throw .invalidState("run \(run.entry.runId): \(error)")
            }
        }
    }

    /// Waits for the run to pause at its stop point `step`; a cancelled request withdraws the stop point.
    private func waitForStopPoint(_ run: ActiveRun, atStep step: Int, context: RequestContext) throws(RPCError) -> JSON {
        let id = run.entry.runId
        while true {
            let outcome = run.training.waitForPause(atStep: step, timeout: Self.stopPointPollSeconds)
            // Checked after each wait, whatever it brought: the connection has answered a cancelled request at
            // once, so a pause reached meanwhile is undone rather than left for nobody.
            if context.cancellation.isCancelled, run.training.withdrawPause(atStep: step) { throw .requestCancelled }
            guard let outcome else { continue }
            switch outcome {
            case .paused:
                // A cancellation that came first has been answered: undo the pause instead of answering.
                guard context.commit() else {
                    _ = run.training.withdrawPause(atStep: step)
                    throw .requestCancelled
                }
                run.writeBack()
                return run.statusJSON
            case .finished(let at):
                let reason = run.training.status.finish?.name ?? "finished"
                throw .invalidState("run \(id) finished (\(reason)) at step \(at) before reaching atStep \(step)")
            case .overtaken(let at):
                throw .invalidState("run \(id) was resumed before it paused at step \(step); it is at step \(at)")
            }
        }
    }

    /// The model and data set a run trains: from the workspace, or created now from a run file.
    private func runInputs(_ params: RunStart.Params) throws(RPCError) -> (Workspace.ModelEntry, Workspace.DatasetEntry) {
        switch params.source {
        case .ids(let model, let dataset):
            return (try workspace.model(model), try workspace.dataset(dataset))
        case .runFile(let file, let directory):
            var dataset: Dataset
            switch file.data {
            case .generate(let generator):
                dataset = try generate(generator)
            case .load(var load):
                load.source = load.source.resolvingPaths(against: directory)
                dataset = try loadDataset(load)
            }
            let datasetEntry = try workspace.addDataset(dataset)
            var model: Model
            let source: String
            switch file.model {
            case .spec(let spec):
                model = Model(spec: spec)
                source = "run file"
            case .weights(let spec, let path):
                let resolved =
                    path.hasPrefix("/") || directory == nil
                    ? path : URL(fileURLWithPath: directory ?? "").appendingPathComponent(path).path
                model = Model(spec: spec)
                do { try model.loadWeights(safetensorsAt: resolved) } catch { throw RPCError.fileError("\(error)") }
                source = resolved
            }
            return (try workspace.addModel(model, name: nil, source: source), datasetEntry)
        }
    }

    private func startRun(_ params: RunStart.Params, connection: Connection) throws(RPCError) -> JSON {
        let limit = workspace.limits.maxActiveRuns
        let training = runs.activeCount
        guard training < limit else {
            throw .limitExceeded("active runs", value: limit, requested: training + 1, flag: "--max-runs")
        }
        let (model, dataset) = try runInputs(params)
        do {
            // The same compatibility checks curvature requests make (input width, targets vs loss).
            _ = try Objective(model: model.model, dataset: dataset.dataset, samples: .indices([0]), precision: .double)
        } catch {
            throw RPCError(from: error)
        }
        let store = try runs.openStore()
        let id = RunRegistry.newRunId()
        let samples = dataset.dataset.sampleCount, batchSize = params.pipeline.batchSize
        let batchesPerEpoch = params.pipeline.dropLast ? samples / batchSize : (samples + batchSize - 1) / batchSize
        guard batchesPerEpoch > 0 else {
            throw .invalidParams(
                "`params.pipeline.batchSize` \(batchSize) exceeds the data set's \(samples) samples with dropLast; lower it or set dropLast false"
            )
        }
        let totalSteps: Int
        switch params.length {
        case .steps(let n): totalSteps = n
        case .epochs(let e): totalSteps = e * batchesPerEpoch
        }
        let entry = RunEntry(
            runId: id, name: params.name ?? id, model: model.id, dataset: dataset.id, optimizer: params.optimizer,
            pipeline: params.pipeline, precision: params.precision, seed: params.seed, totalSteps: totalSteps,
            eventRate: params.eventRate)
        try workspace.setTrainingRun(model: model.id, run: id)
        let sink = EventSink(capacity: 1024)
        let active: ActiveRun
        do throws(RPCError) {
            let training: AnyTrainingRun
            switch params.precision {
            case .float:
                training = .float(
                    try AnyTrainingRun.make(
                        Float.self, entry: entry, model: model.model, dataset: dataset.dataset,
                        store: store, sink: sink))
            case .double:
                training = .double(
                    try AnyTrainingRun.make(
                        Double.self, entry: entry, model: model.model,
                        dataset: dataset.dataset, store: store, sink: sink))
            }
            let monitor =
                params.diagnose
                ? RunMonitor(runId: id, server: self, connection: connection, learningRate: entry.learningRate) : nil
            let registry = runs
            active = ActiveRun(
                entry: entry, training: training, sink: sink, connection: connection, workspace: workspace,
                monitor: monitor, onRetire: { registry.retire($0) })
            do throws(RPCError) {
                try runs.add(active, limit: limit)
            } catch {
                training.stop()
                throw error
            }
        } catch {
            try? workspace.setTrainingRun(model: model.id, run: nil)
            throw error
        }
        do {
            try active.training.start()
        } catch {
            active.training.stop()
            sink.close()
            runs.remove(id)
            try? workspace.setTrainingRun(model: model.id, run: nil)
            throw .storeError(error.description)
        }
        // Events published before the sender starts wait in the sink.
        active.startSender()
        return active.statusJSON
    }

    private func ingest(_ params: RunIngest.Params) throws(RPCError) -> JSON {
        let steps: [StepEvent]
        do { steps = try params.steps() } catch { throw RPCError(from: error) }
        let store = try runs.openStore()
        let id: String
        if let run = params.run {
            let record = try storedRun(run, store: store)
            guard record.kind == .ingested else {
                throw .invalidState(
                    "run \(run) is trained by the daemon; run/ingest appends only to ingested runs (omit `run` and give `name` to create one)"
                )
            }
            guard record.state != .finished else {
                throw .invalidState("run \(run) has finished; ingest into a new run (omit `run`, give `name`)")
            }
            id = run
        } else {
            id = RunRegistry.newRunId()
            do {
                try store.createRun(
                    id: id, name: params.name ?? id, kind: .ingested,
                    config: ["source": "run/ingest", "name": .string(params.name ?? id)])
                try store.updateRunState(id: id, state: .running)
            } catch {
                throw .storeError(error.description)
            }
        }
        var events = steps
        if params.run == nil {  // validated before the run existed: give the events its id
            for i in events.indices { events[i].runId = id }
        }
        do { try store.append(events) } catch { throw .storeError(error.description) }
        runs.windows.record(id, events)
        let last = events.max { $0.step < $1.step }
        if let last { runs.noteIngested(last) }
        var result: [String: JSON] = ["run": .string(id), "accepted": .int(events.count)]
        if let last { result["lastStep"] = .int(last.step) }
        return .object(result)
    }

    // MARK: Lookups and errors

    /// The active run `id`, or the error saying why it cannot be controlled.
    private func controllableRun(_ id: String, action: String) throws(RPCError) -> ActiveRun {
        if let run = runs.run(id) { return run }
        let record = try storedRun(id, store: try runs.openStore())
        throw notActiveError(record, action: action)
    }

    private func notActiveError(_ record: RunRecord, action: String) -> RPCError {
        if record.kind == .ingested {
            return .invalidState("run \(record.id) is ingested: its training loop runs outside the daemon; \(action) it there")
        }
        if record.state == .finished {
            return .invalidState("run \(record.id) has finished (\(record.finishReason ?? "unknown")); it cannot \(action)")
        }
        return .invalidState(
            "run \(record.id) was started by an earlier saddled process and is not training here; start a new run")
    }

    private func finishedError(_ run: ActiveRun, action: String) -> RPCError {
        let reason = run.training.status.finish?.name ?? "finished"
        return .invalidState("run \(run.entry.runId) has finished (\(reason)); a finished run cannot \(action)")
    }

    func storedRun(_ id: String, store: RunStore) throws(RPCError) -> RunRecord {
        let record: RunRecord?
        do { record = try store.run(id: id) } catch { throw .storeError(error.description) }
        guard let record else { throw .notFound("no run \"\(id)\"; run/list shows the runs in the store") }
        return record
    }

    /// `run/status` of a run this process does not train: from the store (and the last ingested event).
    private func storedStatus(_ id: String, store: RunStore) throws(RPCError) -> JSON {
        let record = try storedRun(id, store: store)
        let steps = record.stepCount
        var o: [String: JSON] = [
            "run": .string(id), "name": .string(record.name), "kind": .string(record.kind.rawValue), "active": .bool(false),
            "state": .string(record.state.rawValue), "step": .int(steps),
        ]
        if let r = record.finishReason { o["finishReason"] = .string(r) }
        if let m = record.finishMessage { o["finishMessage"] = .string(m) }
        if let last = runs.lastIngested(id) {
            o["lastStep"] = .int(last.step)
            o["epoch"] = .int(last.epoch)
            o["lastLoss"] = .number(last.loss)
            if let g = last.gradNorm { o["gradNorm"] = .number(g) }
            if let lr = last.lr { o["lr"] = .number(lr) }
        }
        return .object(o)
    }
}

/// Polls `done` every millisecond for at most `seconds`; returns whether it held.
func waitFor(seconds: Double, _ done: () -> Bool) -> Bool {
    let deadline = monotonicNow() + seconds
    while !done() {
        if monotonicNow() > deadline { return false }
        Thread.sleep(forTimeInterval: 0.001)
    }
    return true
}
