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
    /// Runs kept, and ranks kept over all runs (each rank holds up to 32 + 2 × 320 steps of about 250
    /// bytes: 1,024 ranks ≈ 170 MB at most, ≈ 90 MB as usually trimmed); past either, the least recently
    /// diagnosed run is dropped first (rebuilt from the store when asked again).
    static let runLimit = 16
    static let rankLimit = 1_024

    struct Run: Sendable {
        var ranks: [Int: RankWindow] = [:]
        var worldSize: Int?
        var lastUse = 0

        mutating func add(_ event: StepEvent) {
            ranks[event.rank, default: RankWindow()].insert(StepRecord(event))
            if let world = event.worldSize { worldSize = max(worldSize ?? 0, world) }
        }
    }

    private let state = Mutex<(runs: [String: Run], clock: Int)>(([:], 0))

    /// The run's per-rank windows and world size, built by `load` (all committed steps) on first use and
    /// kept when the run has two or more ranks (one-rank runs are diagnosed from their whole history).
    /// The windows are returned as a copy-on-write snapshot: diagnosis reads them outside the lock that
    /// `run/ingest` takes to add steps.
    func window(_ runId: String, load: () throws(RPCError) -> [StepEvent]) throws(RPCError)
        -> (ranks: [Int: RankWindow], worldSize: Int?)
    {
        if let cached = touch(runId) { return cached }
        let events = try load()
        var run = Run()
        for event in events { run.add(event) }
        guard run.ranks.count >= 2 else { return (run.ranks, run.worldSize) }
        return state.withLock { state in
            state.clock += 1
            // An ingest that committed after `load` read may have raced ahead: keep what is there.
            if var existing = state.runs[runId] {
                for event in events { existing.add(event) }
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
            return (run.ranks, run.worldSize)
        }
    }

    /// Adds committed steps to the run's windows, if the run has windows (otherwise its first diagnosis
    /// reads them from the store).
    func record(_ runId: String, _ events: [StepEvent]) {
        state.withLock { state in
            guard state.runs[runId] != nil else { return }
            for event in events { state.runs[runId]?.add(event) }
        }
    }

    private func touch(_ runId: String) -> (ranks: [Int: RankWindow], worldSize: Int?)? {
        state.withLock { state in
            guard state.runs[runId] != nil else { return nil }
            state.clock += 1
            state.runs[runId]?.lastUse = state.clock
            return state.runs[runId].map { ($0.ranks, $0.worldSize) }
        }
    }
}
