import SaddleDiagnosis
import SaddleRPC
import SaddleTraining
import Synchronization

/// The steps a distributed run's diagnosis reads, per rank, kept in memory: each rank's first steps
/// (the early scale, the replicas' early losses) and its latest steps (trends, timings, repeats).
///
/// Why: `diagnose` of a 256-rank run must answer in milliseconds while the ranks keep ingesting, and
/// reading every rank's whole history from SQLite each time grows with the run. A run's window is built
/// from the store on its first diagnosis, then kept current by `run/ingest` (after each commit), so
/// it never holds a step the store does not. Steps are keyed (rank, step) as in the store: a step sent
/// again replaces the one held.
final class RankWindows: Sendable {
    /// First steps kept per rank.
    static let headCount = 32
    /// Latest steps kept per rank: enough for the windows of ``Thresholds`` and to see a batch order
    /// repeat across epochs of up to this many steps.
    static let tailCount = 320
    /// Runs kept, and ranks kept over all runs (each rank holds up to `headCount + 2 × tailCount` steps of
    /// about 250 bytes: 1,024 ranks ≈ 230 MB at most, 1,024 × 352 steps ≈ 90 MB as usually trimmed); past
    /// either, the least recently diagnosed run is dropped first (rebuilt from the store when asked again).
    static let runLimit = 16
    static let rankLimit = 1_024

    struct Rank: Sendable {
        var head: [StepRecord] = []
        var tail: [StepRecord] = []

        /// Steps arrive in order almost always; an older or repeated step is placed or replaced by its number.
        mutating func insert(_ record: StepRecord) {
            if let i = head.firstIndex(where: { $0.step == record.step }) { head[i] = record; return }
            if head.count < RankWindows.headCount && tail.isEmpty {
                head.append(record)
                head.sort { $0.step < $1.step }
                return
            }
            if let last = tail.last, record.step <= last.step {
                if let i = tail.firstIndex(where: { $0.step >= record.step }) {
                    if tail[i].step == record.step { tail[i] = record } else { tail.insert(record, at: i) }
                }
            } else {
                tail.append(record)
            }
            if tail.count > 2 * RankWindows.tailCount { tail.removeFirst(tail.count - RankWindows.tailCount) }
        }

        /// Head then the latest `tailCount` steps, oldest first.
        var records: [StepRecord] {
            let recent = tail.suffix(RankWindows.tailCount)
            return head + recent
        }
    }

    struct Run: Sendable {
        var ranks: [Int: Rank] = [:]
        var worldSize: Int?
        var lastUse = 0
    }

    private let state = Mutex<(runs: [String: Run], clock: Int)>(([:], 0))

    /// The run's per-rank windows and world size, built by `load` (all committed steps) on first use and
    /// kept when the run has two or more ranks (one-rank runs are diagnosed from their whole history).
    func window(_ runId: String, load: () throws(RPCError) -> [StepEvent]) throws(RPCError)
        -> (histories: [Int: [StepRecord]], worldSize: Int?)
    {
        if let cached = touch(runId) { return cached }
        let events = try load()
        var run = Run()
        for event in events { Self.add(event, to: &run) }
        guard run.ranks.count >= 2 else { return (run.ranks.mapValues(\.records), run.worldSize) }
        return state.withLock { state in
            state.clock += 1
            // An ingest that committed after `load` read may have raced ahead: keep what is there.
            if var existing = state.runs[runId] {
                for event in events { Self.add(event, to: &existing) }
                run = existing
            }
            run.lastUse = state.clock
            state.runs[runId] = run
            while state.runs.count > 1,
                  state.runs.count > Self.runLimit || state.runs.values.reduce(0, { $0 + $1.ranks.count }) > Self.rankLimit,
                  let oldest = state.runs.min(by: { $0.value.lastUse < $1.value.lastUse })?.key, oldest != runId
            {
                state.runs[oldest] = nil
            }
            return (run.ranks.mapValues(\.records), run.worldSize)
        }
    }

    /// Adds committed steps to the run's windows, if the run has windows (otherwise its first diagnosis
    /// reads them from the store).
    func record(_ runId: String, _ events: [StepEvent]) {
        state.withLock { state in
            guard var run = state.runs[runId] else { return }
            for event in events { Self.add(event, to: &run) }
            state.runs[runId] = run
        }
    }

    private func touch(_ runId: String) -> (histories: [Int: [StepRecord]], worldSize: Int?)? {
        state.withLock { state in
            guard var run = state.runs[runId] else { return nil }
            state.clock += 1
            run.lastUse = state.clock
            state.runs[runId] = run
            return (run.ranks.mapValues(\.records), run.worldSize)
        }
    }

    private static func add(_ event: StepEvent, to run: inout Run) {
        run.ranks[event.rank, default: Rank()].insert(StepRecord(event))
        if let world = event.worldSize { run.worldSize = max(run.worldSize ?? 0, world) }
    }
}
