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
        try readCommitted(runId) { store throws(StoreError) in try store.steps(runId: runId) }
    }

    /// The steps a run's diagnosis reads from the store: every step of a one-rank run; of a distributed run
    /// (two or more ranks), each rank's first `head` and last `tail` steps.
    /// - Throws: -31001 for an unknown run, -31006 when the store fails.
    func runDiagnosisSteps(_ runId: String, head: Int, tail: Int) throws(RPCError) -> [StepEvent] {
        try readCommitted(runId) { store throws(StoreError) in
            let ranks = try store.ranks(runId: runId)
            return ranks.count >= 2
                ? try store.edgeSteps(runId: runId, ranks: ranks, head: head, tail: tail)
                : try store.steps(runId: runId)
        }
    }

    /// `read` on the store once run `runId` is known to it and the queued steps are committed.
    private func readCommitted<R>(_ runId: String, _ read: (RunStore) throws(StoreError) -> R) throws(RPCError) -> R {
        let store = try runs.openStore()
        _ = try storedRun(runId, store: store)
        do {
            try store.flush()
            return try read(store)
        } catch {
            throw .storeError(error.description)
        }
    }

    /// The settings (model, data set, optimizer, batch size…) of a run this process trains or trained;
    /// nil for ingested runs and runs of earlier processes.
    public func runEntry(_ runId: String) -> RunEntry? { runs.entry(runId) }
}
