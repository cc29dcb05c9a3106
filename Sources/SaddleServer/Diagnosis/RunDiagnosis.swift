import Foundation
import SaddleCurvature
import SaddleDiagnosis
import SaddleJSON
import SaddleRPC
import SaddleTraining
import SaddleThreads

extension StepRecord {
    /// A step event as diagnosis history (the same quantities under the same wire names).
    init(_ event: StepEvent) {
        self.init(
            step: event.step, loss: event.loss, gradNorm: event.gradNorm, learningRate: event.lr,
            dataWait: event.dataWaitSeconds, compute: event.computeSeconds, throughput: event.samplesPerSecond,
            fingerprint: event.fingerprint, labelHistogram: event.labelHistogram, epoch: event.epoch,
            allreduceWait: event.allreduceSeconds)
    }
}

extension Server {
    /// One rank's steps (the lowest rank reported), in order: the history of a one-rank run.
    static func lowestRankHistory(_ events: [StepEvent]) -> [StepRecord] {
        guard let rank = events.map(\.rank).min() else { return [] }
        return events.filter { $0.rank == rank }.sorted { $0.step < $1.step }.map(StepRecord.init)
    }

    /// `diagnose` for a run. A distributed run (steps from two or more ranks) is diagnosed across its
    /// ranks from their windows (``RankWindows``): per-rank summaries, and the consensus history for a
    /// stall they share. Otherwise the run's history, and — when this daemon holds the run's model and the
    /// run is not training right now — the curvature evidence at the model's current parameters (the
    /// run's last parameters once it paused or ended), with the run's learning rate and batch size.
    /// `measured` (evidence measured elsewhere, e.g. curvature from PyTorch) wins over what is derived here.
    func runDiagnosisResult(
        _ runId: String, options: PointEvidenceOptions, measured: Evidence? = nil,
        thresholds: Thresholds, control: CurvatureControl
    ) throws(RPCError) -> [String: JSON] {
        var loaded: [StepEvent]?
        let window = try runs.windows.window(runId) { () throws(RPCError) -> [StepEvent] in
            // A distributed run's windows need each rank's first and last steps only; a one-rank run is
            // diagnosed from its whole history.
            let events = try runDiagnosisSteps(runId, head: RankWindow.headCount, tail: RankWindow.tailCount)
            loaded = events
            return events
        }
        if window.ranks.count >= 2 {
            var members = distributedDiagnosisResult(
                window.ranks, worldSize: window.worldSize, options: options,
                measured: measured, thresholds: thresholds)
            members["run"] = .string(runId)
            members["step"] = .int(window.ranks.values.compactMap(\.lastStep).max() ?? 0)
            return members
        }
        let events: [StepEvent]
        if let loaded { events = loaded } else { events = try runHistoryEvidence(runId) }
        let history = Self.lowestRankHistory(events)
        guard !history.isEmpty else {
            throw .invalidState("run \(runId) has no steps yet; diagnose it once it has trained or reported some")
        }
        var members: [String: JSON]
        if let entry = runEntry(runId), let model = try? workspace.model(entry.model),
            model.trainingRun == nil || runs.run(runId)?.training.status.state == .paused,
            let dataset = try? workspace.dataset(entry.dataset)
        {
            var options = options
            options.learningRate = options.learningRate ?? history.last?.learningRate ?? entry.learningRate
            // Gradient noise needs two disjoint batches; a full-batch run has none to compare.
            if options.batchSize == nil, 2 * entry.batchSize <= dataset.dataset.sampleCount {
                options.batchSize = entry.batchSize
            }
            let early = history.prefix(thresholds.earlyWindow).compactMap(\.gradNorm).filter(\.isFinite).sorted()
            if !early.isEmpty { options.earlyGradNorm = early[early.count / 2] }
            var point = try pointEvidence(model: entry.model, dataset: entry.dataset, options: options, control: control)
            point.evidence.history = history
            if let measured { point.evidence.adopt(measured) }
            members = pointDiagnosisResult(point, thresholds: thresholds)
        } else {
            var evidence = Evidence()
            evidence.history = history
            evidence.learningRate = options.learningRate ?? history.last?.learningRate
            if let measured { evidence.adopt(measured) }
            members = diagnosisResult(evidence: evidence, thresholds: thresholds)
        }
        members["run"] = .string(runId)
        members["step"] = .int(history.last?.step ?? 0)
        return members
    }

    /// The diagnosis of a distributed run from its per-rank windows: pure once the windows are read.
    func distributedDiagnosisResult(
        _ windows: [Int: RankWindow], worldSize: Int?, options: PointEvidenceOptions,
        measured: Evidence?, thresholds: Thresholds
    ) -> [String: JSON] {
        var evidence = Evidence()
        evidence.ranks = RankAnalysis.summarize(windows: windows, thresholds: thresholds)
        // The consensus needs the first steps (the early scale), the trend and data windows, and labels
        // only for the data window: not every step held.
        evidence.history = RankAnalysis.consensus(
            windows: windows, early: thresholds.earlyWindow,
            recent: max(thresholds.plateauWindow, 2 * thresholds.dataWindow), labelled: thresholds.dataWindow)
        evidence.worldSize = worldSize
        evidence.learningRate = options.learningRate ?? evidence.history.last?.learningRate
        if let measured { evidence.adopt(measured) }
        return diagnosisResult(evidence: evidence, thresholds: thresholds)
    }

    /// The run-file field each remedy concerns (protocol/runfile.md), so editors can put a diagnostic
    /// on that line.
    static let recommendationFields: [String: String] = [
        "smallerLearningRate": "optimizer.lr", "largerLearningRateOrWarmRestart": "optimizer.lr",
        "momentum": "optimizer.kind", "adaptiveMethod": "optimizer.kind", "noiseInjection": "optimizer.noise",
        "largerBatch": "pipeline.batchSize", "dataLoader": "pipeline", "shuffleAndSampler": "pipeline.shuffle",
        "normalizationOrActivation": "model.layers", "findNonFinite": "data", "negativeCurvatureStep": "optimizer",
    ]
}

/// Watches a run as it trains and sends `run/diagnosis` when the verdict changes, as a language server
/// publishes diagnostics. While the run trains, verdicts come from its history alone (pure, on the
/// run's event thread, never on its training thread: the run is not slowed at all); when it ends, a
/// full diagnosis (with curvature at its final parameters) runs on a thread of its own and is sent
/// whatever its verdict.
final class RunMonitor: @unchecked Sendable {
    private let runId: String
    private let server: Server
    private let connection: Connection
    private let every: Int
    private let learningRate: Double
    // Touched only by the run's event thread.
    private var head: [StepRecord] = []
    private var tail: [StepRecord] = []
    private var sinceCheck = 0
    private var lastVerdict: String?
    private var previousCheck: String?
    private static let headCount = 200, tailCount = 2000

    init(runId: String, server: Server, connection: Connection, every: Int = 50, learningRate: Double) {
        self.runId = runId
        self.server = server
        self.connection = connection
        self.every = every
        self.learningRate = learningRate
    }

    /// Called by the event thread for every step it sees.
    func record(_ event: StepEvent) {
        let record = StepRecord(event)
        if head.count < Self.headCount { head.append(record) } else { tail.append(record) }
        if tail.count > 2 * Self.tailCount { tail.removeFirst(tail.count - Self.tailCount) }
        sinceCheck += 1
        guard sinceCheck >= every else { return }
        sinceCheck = 0
        var evidence = Evidence()
        evidence.history = head + tail.suffix(Self.tailCount)
        evidence.learningRate = record.learningRate ?? learningRate
        let diagnosis = Diagnoser.diagnose(evidence)
        let verdict = diagnosis.verdict.rawValue
        // Hysteresis: a new verdict is published once two checks in a row agree on it, so a verdict near
        // a threshold does not flap with every window.
        defer { previousCheck = verdict }
        guard verdict != lastVerdict, lastVerdict == nil || verdict == previousCheck else { return }
        lastVerdict = verdict
        var members = server.diagnosisResult(evidence: evidence, thresholds: Thresholds())
        members["run"] = .string(runId)
        send(members, step: record.step, final: false)
    }

    /// Called by the event thread once the run has ended (its model written back and released).
    func finished() {
        NamedThread.start(name: "saddle.diagnose.\(runId)") { [self] in
            do {
                let members = try server.runDiagnosisResult(
                    runId, options: PointEvidenceOptions(), thresholds: Thresholds(),
                    control: .none)
                send(members, step: members["step"]?.int64Value.map { Int($0) } ?? 0, final: true)
            } catch {
                connection.logMessage(.warning, "run \(runId): the final diagnosis failed: \(error)")
            }
        }
    }

    private func send(_ members: [String: JSON], step: Int, final: Bool) {
        connection.notify(
            "run/diagnosis",
            params: [
                "run": .string(runId), "step": .int(step), "final": .bool(final), "diagnosis": .object(members),
            ])
    }
}
