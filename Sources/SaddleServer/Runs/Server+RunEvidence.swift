import SaddleRPC
import SaddleTraining

extension Server {
    /// The default run store location, `$XDG_STATE_HOME/saddle/runs.sqlite` or
    /// `~/.local/state/saddle/runs.sqlite` (saddled's `--store` default).
    public static var defaultRunStorePath: String { SaddleTraining.defaultRunStorePath() }

    /// Opens the run store now (saddled calls this at start-up so that a corrupt store or one written
    /// by a newer saddled stops the daemon with a clear message instead of failing later).
    /// - Throws: the store's error; its `description` says what to do.
    public func openRunStore() throws(StoreError) { _ = try runs.store() }

    /// Every committed step of run `runId` (all ranks, by rank then step), for diagnosis of a run. Own
    /// runs' queued steps are committed first, so the latest steps are included.
    /// - Throws: -31001 for an unknown run, -31006 when the store fails.
    public func runHistoryEvidence(_ runId: String) throws(RPCError) -> [StepEvent] {
        let store = try runs.openStore()
        _ = try storedRun(runId, store: store)
        do {
            try store.flush()
            return try store.steps(runId: runId)
        } catch {
            throw .storeError(error.description)
        }
    }

    /// The ranks of run `runId` and, when there are two or more, each rank's first `head` and last `tail`
    /// committed steps (own runs' queued steps are committed first).
    /// - Throws: -31001 for an unknown run, -31006 when the store fails.
    func runEdgeSteps(_ runId: String, head: Int, tail: Int) throws(RPCError) -> (ranks: [Int], steps: [StepEvent]) {
        let store = try runs.openStore()
        _ = try storedRun(runId, store: store)
        do {
            try store.flush()
            let ranks = try store.ranks(runId: runId)
            guard ranks.count >= 2 else { return (ranks, []) }
            return (ranks, try store.edgeSteps(runId: runId, ranks: ranks, head: head, tail: tail))
        } catch {
            throw .storeError(error.description)
        }
    }

    /// The settings (model, data set, optimizer, batch size…) of a run this process trains or trained;
    /// nil for ingested runs and runs of earlier processes.
    public func runEntry(_ runId: String) -> RunEntry? { runs.entry(runId) }
}
