import SaddleJSON

/// One optimizer step as reported to clients and stored: by a run the daemon trains (rank 0) or
/// ingested from an external training loop (any rank). Times in seconds.
///
/// Non-finite `loss`/`gradNorm` are legitimate (divergence evidence): they travel on the wire as
/// the strings "NaN", "Infinity", "-Infinity" and round-trip through the store.
public struct StepEvent: Sendable, Equatable, JSONEncodable {
    public var runId: String
    public var rank: Int
    public var step: Int
    public var epoch: Int
    public var loss: Double
    public var gradNorm: Double?
    public var lr: Double?
    /// Seconds the step waited for its batch.
    public var dataWaitSeconds: Double?
    /// Seconds the step spent computing (gradient + update).
    public var computeSeconds: Double?
    public var samplesPerSecond: Double?
    public var fingerprint: String?
    public var labelHistogram: [Int]?
    /// Seconds the step waited in the gradient all-reduce (distributed runs; ≥ 0).
    public var allreduceSeconds: Double?
    /// The number of ranks of the run (distributed runs; ≥ 1, and `rank` < `worldSize`).
    public var worldSize: Int?

    public init(
        runId: String, rank: Int = 0, step: Int, epoch: Int = 0, loss: Double, gradNorm: Double? = nil,
        lr: Double? = nil, dataWaitSeconds: Double? = nil, computeSeconds: Double? = nil,
        samplesPerSecond: Double? = nil, fingerprint: String? = nil, labelHistogram: [Int]? = nil,
        allreduceSeconds: Double? = nil, worldSize: Int? = nil
    ) {
        self.runId = runId
        self.rank = rank
        self.step = step
        self.epoch = epoch
        self.loss = loss
        self.gradNorm = gradNorm
        self.lr = lr
        self.dataWaitSeconds = dataWaitSeconds
        self.computeSeconds = computeSeconds
        self.samplesPerSecond = samplesPerSecond
        self.fingerprint = fingerprint
        self.labelHistogram = labelHistogram
        self.allreduceSeconds = allreduceSeconds
        self.worldSize = worldSize
    }

    /// Equality treats NaN as equal to NaN (a stored NaN loss must compare equal after a round trip).
    public static func == (a: StepEvent, b: StepEvent) -> Bool {
        func same(_ x: Double?, _ y: Double?) -> Bool {
            switch (x, y) {
            case (nil, nil): return true
            case (let x?, let y?): return x == y || (x.isNaN && y.isNaN)
            default: return false
            }
        }
        return a.runId == b.runId && a.rank == b.rank && a.step == b.step && a.epoch == b.epoch
            && same(a.loss, b.loss) && same(a.gradNorm, b.gradNorm) && same(a.lr, b.lr)
            && same(a.dataWaitSeconds, b.dataWaitSeconds) && same(a.computeSeconds, b.computeSeconds)
            && same(a.samplesPerSecond, b.samplesPerSecond) && a.fingerprint == b.fingerprint
            && a.labelHistogram == b.labelHistogram && same(a.allreduceSeconds, b.allreduceSeconds)
            && a.worldSize == b.worldSize
    }

    /// The `run/step` notification's payload; absent optionals are omitted.
    public var json: JSON {
        var o: [String: JSON] = [
            "run": .string(runId), "rank": .int(rank), "step": .int(step), "epoch": .int(epoch), "loss": .number(loss),
        ]
        StepEvent.addOptionalMembers(
            to: &o, gradNorm: gradNorm, lr: lr, dataWaitSeconds: dataWaitSeconds,
            computeSeconds: computeSeconds, samplesPerSecond: samplesPerSecond,
            fingerprint: fingerprint, labelHistogram: labelHistogram,
            allreduceSeconds: allreduceSeconds, worldSize: worldSize)
        return .object(o)
    }
}

extension StepEvent {
    /// The optional step fields under their wire names, shared by `run/step` and `run/history` points;
    /// absent values are omitted.
    static func addOptionalMembers(
        to o: inout [String: JSON], gradNorm: Double?, lr: Double?, dataWaitSeconds: Double?, computeSeconds: Double?,
        samplesPerSecond: Double?, fingerprint: String?, labelHistogram: [Int]?, allreduceSeconds: Double?,
        worldSize: Int?
    ) {
        if let gradNorm { o["gradNorm"] = .number(gradNorm) }
        if let lr { o["lr"] = .number(lr) }
        if let dataWaitSeconds { o["dataWaitSeconds"] = .number(dataWaitSeconds) }
        if let computeSeconds { o["computeSeconds"] = .number(computeSeconds) }
        if let samplesPerSecond { o["samplesPerSecond"] = .number(samplesPerSecond) }
        if let fingerprint { o["fingerprint"] = .string(fingerprint) }
        if let labelHistogram { o["labelHistogram"] = .array(labelHistogram.map { .int($0) }) }
        if let allreduceSeconds { o["allreduceSeconds"] = .number(allreduceSeconds) }
        if let worldSize { o["worldSize"] = .int(worldSize) }
    }
}

/// Why a run ended.
public enum FinishReason: Sendable, Equatable, CustomStringConvertible {
    /// All requested steps/epochs ran.
    case completed
    /// ``TrainingRun/stop()`` was called.
    case stopped
    /// An error ended the run (data pipeline, gradient function, store); the message says which.
    case failed(String)
    /// The loss became non-finite at this step.
    case diverged(step: Int)

    /// The short name stored and sent: "completed", "stopped", "failed", "diverged".
    public var name: String {
        switch self {
        case .completed: return "completed"
        case .stopped: return "stopped"
        case .failed: return "failed"
        case .diverged: return "diverged"
        }
    }

    /// Detail for `failed` and `diverged`; nil otherwise.
    public var message: String? {
        switch self {
        case .completed, .stopped: return nil
        case .failed(let m): return m
        case .diverged(let step): return "loss became non-finite at step \(step)"
        }
    }

    public var description: String { message.map { "\(name): \($0)" } ?? name }
}

/// The `run/finished` notification's payload.
public struct RunFinished: Sendable, Equatable, JSONEncodable {
    public var runId: String
    public var reason: FinishReason
    /// Steps completed (stored).
    public var steps: Int
    public var lastLoss: Double?

    public init(runId: String, reason: FinishReason, steps: Int, lastLoss: Double?) {
        self.runId = runId
        self.reason = reason
        self.steps = steps
        self.lastLoss = lastLoss
    }

    public static func == (a: RunFinished, b: RunFinished) -> Bool {
        a.runId == b.runId && a.reason == b.reason && a.steps == b.steps
            && (a.lastLoss == b.lastLoss || (a.lastLoss?.isNaN == true && b.lastLoss?.isNaN == true))
    }

    public var json: JSON {
        var o: [String: JSON] = ["run": .string(runId), "reason": .string(reason.name), "steps": .int(steps)]
        if let m = reason.message { o["message"] = .string(m) }
        if let lastLoss { o["lastLoss"] = .number(lastLoss) }
        return .object(o)
    }
}

/// What an ``EventSink`` delivers.
public enum RunEvent: Sendable, Equatable {
    case step(StepEvent)
    case finished(RunFinished)
}
