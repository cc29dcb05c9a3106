import Foundation
import SaddleJSON

/// Whether the daemon trained the run or ingested it from an external loop.
public enum RunKind: String, Sendable, CaseIterable {
    case own
    case ingested
}

/// A run's lifecycle state as stored and reported.
public enum RunState: String, Sendable, CaseIterable {
    case created
    case running
    case paused
    case finished
}

/// A run's metadata row. Times are Unix seconds.
public struct RunRecord: Sendable, Equatable, JSONEncodable {
    public var id: String
    public var name: String
    public var kind: RunKind
    public var state: RunState
    /// The configuration the run was started with (`run/start` params), as given.
    public var config: JSON
    public var createdAt: Double
    public var updatedAt: Double
    /// "completed", "stopped", "failed", "diverged" once finished.
    public var finishReason: String?
    public var finishMessage: String?
    /// The run's committed steps (all ranks) when the record was read: the store's `step_count`, the same
    /// number as ``RunStore/stepCount(runId:rank:)`` without a rank. Not part of ``json``.
    public var stepCount: Int = 0

    public var json: JSON {
        var o: [String: JSON] = [
            "id": .string(id), "name": .string(name), "kind": .string(kind.rawValue), "state": .string(state.rawValue),
            "config": config, "createdAt": .double(createdAt), "updatedAt": .double(updatedAt),
        ]
        if let finishReason { o["finishReason"] = .string(finishReason) }
        if let finishMessage { o["finishMessage"] = .string(finishMessage) }
        return .object(o)
    }
}

/// A stored diagnosis.
public struct DiagnosisRecord: Sendable, Equatable, JSONEncodable {
    public var runId: String
    public var step: Int?
    public var verdict: String
    public var detail: JSON
    public var createdAt: Double

    public var json: JSON {
        var o: [String: JSON] = [
            "run": .string(runId), "verdict": .string(verdict), "detail": detail,
            "createdAt": .double(createdAt),
        ]
        if let step { o["step"] = .int(step) }
        return .object(o)
    }
}

/// Why the store cannot be opened or written. Messages say what to do.
public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file was written by a newer saddled.
    case newerSchema(path: String, found: Int, supported: Int)
    /// The file is not a SQLite database, fails its integrity check, or is not a Saddle store.
    case corrupt(path: String, detail: String)
    /// SQLite failed (disk full, permissions, locked by another process…).
    case sqlite(path: String, code: Int32, message: String)
    /// Steps were appended for a run the store does not have.
    case unknownRun(String)
    /// The store was closed.
    case closed

    public var description: String {
        switch self {
        case .newerSchema(let path, let found, let supported):
            return "store at \(path) has schema version \(found); this saddled supports up to \(supported)"
                + " — upgrade saddled or pass a different --store"
        case .corrupt(let path, let detail):
            return "store at \(path) is corrupt or not a Saddle run store (\(detail)); move it aside or pass a different --store"
        case .sqlite(let path, let code, let message):
            return "run store at \(path): SQLite error \(code): \(message)"
        case .unknownRun(let id):
            return "unknown run \"\(id)\"; create the run before appending steps"
        case .closed:
            return "run store is closed"
        }
    }
}

/// How hard a commit is pushed to disk before it is acknowledged.
public enum Durability: Sendable {
    /// `synchronous=NORMAL` in WAL mode: a committed transaction survives the process being killed
    /// (SIGKILL, crash) because it is in the OS page cache; a power loss or kernel crash may lose the
    /// last commits (never corrupts).
    case processCrash
    /// `synchronous=FULL`: the WAL is fsync'd at every commit, so a commit survives power loss too.
    /// The default: "acknowledged" then means durable in the strongest sense, and the writer's batching
    /// (one commit per few milliseconds, not per step) keeps the fsync cost off the training path.
    case powerLoss
}

/// A point of a run's loss history: one step, or a bucket of consecutive steps when downsampled.
public struct HistoryPoint: Sendable, Equatable, JSONEncodable {
    public var rank: Int
    /// The last step in the bucket.
    public var step: Int
    public var firstStep: Int
    public var epoch: Int
    /// Mean of finite losses in the bucket; non-finite if any loss in it was (NaN wins over ±∞), so
    /// divergence is never averaged away.
    public var loss: Double
    public var lossMin: Double
    public var lossMax: Double
    public var gradNorm: Double?
    public var lr: Double?
    public var dataWaitSeconds: Double?
    public var computeSeconds: Double?
    public var samplesPerSecond: Double?
    /// Mean seconds waited in the gradient all-reduce (distributed runs).
    public var allreduceSeconds: Double?
    /// The run's number of ranks as the bucket's last step reported it.
    public var worldSize: Int?
    /// Steps in the bucket (1 when not downsampled).
    public var count: Int
    /// Only for single-step points.
    public var fingerprint: String?
    public var labelHistogram: [Int]?

    public static func == (a: HistoryPoint, b: HistoryPoint) -> Bool { a.json == b.json }

    public var json: JSON {
        var o: [String: JSON] = [
            "rank": .int(rank), "step": .int(step), "firstStep": .int(firstStep), "epoch": .int(epoch),
            "loss": .number(loss), "lossMin": .number(lossMin), "lossMax": .number(lossMax), "count": .int(count),
        ]
        StepEvent.addOptionalMembers(
            to: &o, gradNorm: gradNorm, lr: lr, dataWaitSeconds: dataWaitSeconds,
            computeSeconds: computeSeconds, samplesPerSecond: samplesPerSecond,
            fingerprint: fingerprint, labelHistogram: labelHistogram,
            allreduceSeconds: allreduceSeconds, worldSize: worldSize)
        return .object(o)
    }
}

/// The result of ``RunStore/history(runId:fromStep:toStep:rank:maxPoints:)``.
public struct RunHistory: Sendable, Equatable, JSONEncodable {
    public var runId: String
    /// Ordered by rank, then step.
    public var points: [HistoryPoint]
    /// Steps in the range before downsampling.
    public var totalSteps: Int
    public var downsampled: Bool

    public var json: JSON {
        [
            "run": .string(runId), "points": .array(points.map(\.json)), "totalSteps": .int(totalSteps),
            "downsampled": .bool(downsampled),
        ]
    }
}

/// The default store location: `$XDG_STATE_HOME/saddle/runs.sqlite` when `XDG_STATE_HOME` is set to an
/// absolute path (the XDG spec says to ignore relative ones), else `$HOME/.local/state/saddle/runs.sqlite`.
public func defaultRunStorePath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
    if let state = environment["XDG_STATE_HOME"], state.hasPrefix("/") {
        return (state as NSString).appendingPathComponent("saddle/runs.sqlite")
    }
    let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
    return (home as NSString).appendingPathComponent(".local/state/saddle/runs.sqlite")
}
