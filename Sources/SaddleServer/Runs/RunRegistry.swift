import Foundation
import SaddleJSON
import SaddleRPC
import SaddleTraining
import Synchronization

/// The runs of one daemon: the run store (every run and step, own and ingested, persisted) and the
/// runs this process trains, by id.
///
/// The store opens once, at start-up through ``Server/openRunStore()`` (saddled refuses to start
/// when it cannot) or on first use; an open failure is kept and every run method then answers
/// -31006 with its message. Lookups take one short lock and never wait for a run.
public final class RunRegistry: Sendable {
    /// The store's path; nil or ":memory:" for an in-memory store.
    public let storePath: String?
    private let slot = Mutex<Result<RunStore, StoreError>?>(nil)
    private let active = Mutex<[String: ActiveRun]>([:])
    /// Runs this process trained that have ended: their settings and final status only, so that a
    /// finished run's training state, buffers and event thread are freed (a long-lived daemon runs many).
    private let retired = Mutex<(runs: [String: (entry: RunEntry, status: JSON)], order: [String])>(([:], []))
    /// Ended runs kept in memory; older ones answer `run/status` from the store and `diagnose` from their history.
    static let retiredLimit = 1000
    /// The last step event this process ingested per run (for `run/status` of ingested runs).
    private let ingested = Mutex<[String: StepEvent]>([:])
    /// Per-rank step windows of the runs diagnosed lately (distributed runs' `diagnose`).
    let windows = RankWindows()
    /// `run/ingest` and `run/stop` of ingested runs in arrival order.
    let ingestOrder = IngestOrder()

    init(storePath: String?) { self.storePath = storePath }

    /// The run store, opened on first call.
    /// - Throws: why it cannot be opened (corrupt, newer schema, SQLite failure); the same error on every later call.
    public func store() throws(StoreError) -> RunStore {
        let result = slot.withLock { slot -> Result<RunStore, StoreError> in
            if let slot { return slot }
            let opened: Result<RunStore, StoreError>
            do throws(StoreError) { opened = .success(try RunStore(path: storePath ?? ":memory:")) } catch {
                opened = .failure(error)
            }
            slot = opened
            return opened
        }
        return try result.get()
    }

    /// The store, or the client's -31006 error.
    func openStore() throws(RPCError) -> RunStore {
        do { return try store() } catch { throw .storeError(error.description) }
    }

    /// Commits what is queued and closes the store (at exit). Runs still training stay `running` in it.
    public func closeStore() {
        if case .success(let store)? = slot.withLock({ $0 }) { store.close() }
    }

    /// The settings of a run this process trains (or trained), by id; nil for ingested runs and runs of earlier processes.
    public func entry(_ runId: String) -> RunEntry? {
        active.withLock { $0[runId]?.entry } ?? retired.withLock { $0.runs[runId]?.entry }
    }

    /// Every run this process trains or trained, oldest first.
    public var entries: [RunEntry] {
        (active.withLock { $0.values.map(\.entry) } + retired.withLock { $0.runs.values.map(\.entry) }).sorted {
            $0.runId < $1.runId
        }
    }

    /// The final `run/status` of a run this process trained and that has ended.
    func finishedStatus(_ runId: String) -> JSON? { retired.withLock { $0.runs[runId]?.status } }

    /// Replaces an ended run by its settings and final status (called by its event thread, last).
    func retire(_ run: ActiveRun) {
        let status = run.statusJSON
        retired.withLock { r in
            r.runs[run.entry.runId] = (run.entry, status)
            r.order.append(run.entry.runId)
            if r.order.count > Self.retiredLimit {
                let excess = r.order.count - Self.retiredLimit
                for id in r.order.prefix(excess) { r.runs[id] = nil }
                r.order.removeFirst(excess)
            }
        }
        _ = active.withLock { $0.removeValue(forKey: run.entry.runId) }
    }

    /// Runs training now (not finished).
    public var activeCount: Int { active.withLock { $0.values.filter { !$0.isFinished }.count } }

    func run(_ runId: String) -> ActiveRun? { active.withLock { $0[runId] } }

    /// Adds a run, refusing it when `limit` runs are already training.
    func add(_ run: ActiveRun, limit: Int) throws(RPCError) {
        try active.withLock { runs throws(RPCError) in
            let training = runs.values.filter { !$0.isFinished }.count
            guard training < limit else {
                throw .limitExceeded("active runs", value: limit, requested: training + 1, flag: "--max-runs")
            }
            runs[run.entry.runId] = run
        }
    }

    func remove(_ runId: String) { _ = active.withLock { $0.removeValue(forKey: runId) } }

    func noteIngested(_ event: StepEvent) { ingested.withLock { $0[event.runId] = event } }
    func lastIngested(_ runId: String) -> StepEvent? { ingested.withLock { $0[runId] } }

    /// A new run id, unique in practice across daemon processes sharing a store: "r" and 12 base-36 digits
    /// of a random 62-bit number. A collision is refused by the store (the run does not start).
    static func newRunId() -> String {
        let digits = String(UInt64.random(in: 0..<(1 << 62)), radix: 36)
        return "r" + String(repeating: "0", count: max(0, 12 - digits.count)) + digits
    }
}
