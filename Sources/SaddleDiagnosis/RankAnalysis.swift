/// What one rank of a distributed run did, as the cross-rank diagnosis weighs it: medians over its
/// trailing steps (robust to a few slow steps) and how often its batches repeat.
public struct RankSummary: Sendable, Equatable {
    public var rank: Int
    /// Records of this rank in the history given.
    public var steps: Int
    public var lastStep: Int
    /// Median finite loss of the trailing `dataWindow` steps.
    public var loss: Double?
    /// Median finite loss of the first `dataWindow` steps (when the replicas were still in step).
    public var earlyLoss: Double?
    /// Median seconds of compute, data wait and all-reduce wait over the trailing `dataWindow` steps.
    public var compute: Double?
    public var dataWait: Double?
    public var allreduceWait: Double?
    /// Share of trailing batches that repeat another trailing batch of the same epoch.
    public var repeatedBatchShare: Double?
    /// Share of trailing batches this rank already had in an earlier epoch: the epoch's order repeats, as
    /// when a DistributedSampler is never told the epoch. `nil` for full-batch training (one batch per epoch).
    public var epochRepeatShare: Double?
    /// Share of trailing batches that another rank also had in its trailing steps: ranks share data.
    public var sharedBatchShare: Double?
    /// Step of this rank's first non-finite loss in the trailing window, or of a non-finite latest gradient norm.
    public var nonFiniteStep: Int?

    public init(rank: Int, steps: Int, lastStep: Int, loss: Double? = nil, earlyLoss: Double? = nil,
                compute: Double? = nil, dataWait: Double? = nil, allreduceWait: Double? = nil,
                repeatedBatchShare: Double? = nil, epochRepeatShare: Double? = nil, sharedBatchShare: Double? = nil,
                nonFiniteStep: Int? = nil)
    {
        self.rank = rank
        self.steps = steps
        self.lastStep = lastStep
        self.loss = loss
        self.earlyLoss = earlyLoss
        self.compute = compute
        self.dataWait = dataWait
        self.allreduceWait = allreduceWait
        self.repeatedBatchShare = repeatedBatchShare
        self.epochRepeatShare = epochRepeatShare
        self.sharedBatchShare = sharedBatchShare
        self.nonFiniteStep = nonFiniteStep
    }
}

/// Pure functions over the per-rank histories of a distributed run: per-rank summaries, and the
/// consensus history the single-process procedure reads (so a stall every rank shares is diagnosed as
/// for one process, with curvature deciding saddle, minimum or plateau).
public enum RankAnalysis {
    /// One summary per rank (ascending rank). `histories[r]` holds rank r's records, oldest first; it may
    /// be a window of the run (the first and the latest steps), as long as it holds `dataWindow` steps.
    public static func summarize(_ histories: [Int: [StepRecord]], thresholds: Thresholds) -> [RankSummary] {
        let window = max(thresholds.dataWindow, 1)
        let recentByRank = histories.mapValues { Array($0.suffix(window)) }
        // Which ranks had each fingerprint among their trailing batches.
        var holders: [String: Set<Int>] = [:]
        for (rank, recent) in recentByRank {
            for record in recent { if let f = record.fingerprint { holders[f, default: []].insert(rank) } }
        }
        return histories.keys.sorted().map { rank in
            let history = histories[rank] ?? []
            let recent = recentByRank[rank] ?? []
            var summary = RankSummary(rank: rank, steps: history.count, lastStep: history.last?.step ?? 0)
            summary.loss = HistoryAnalysis.median(recent.map(\.loss).filter(\.isFinite))
            summary.earlyLoss = HistoryAnalysis.median(history.prefix(window).map(\.loss).filter(\.isFinite))
            summary.compute = median(recent.compactMap(\.compute))
            summary.dataWait = median(recent.compactMap(\.dataWait))
            summary.allreduceWait = median(recent.compactMap(\.allreduceWait))
            summary.repeatedBatchShare = HistoryAnalysis.repeatedShare(recent.compactMap { r in
                r.fingerprint.map { f in r.epoch.map { "\($0):\(f)" } ?? f }
            })
            summary.epochRepeatShare = epochRepeatShare(history, recent: recent)
            let printed = recent.compactMap(\.fingerprint)
            if !printed.isEmpty && histories.count > 1 {
                let shared = printed.filter { (holders[$0]?.count ?? 0) > 1 }.count
                summary.sharedBatchShare = Double(shared) / Double(printed.count)
            }
            if let bad = history.suffix(max(thresholds.plateauWindow, 3)).first(where: { !$0.loss.isFinite }) {
                summary.nonFiniteStep = bad.step
            } else if let last = history.last, let g = last.gradNorm, !g.isFinite {
                summary.nonFiniteStep = last.step
            }
            return summary
        }
    }

    /// Share of `recent` batches whose fingerprint the rank already had in an earlier epoch; `nil` without
    /// epochs and fingerprints, or when epochs hold fewer than two distinct batches on average (full-batch
    /// training feeds the same batch every epoch, and that is no stall).
    static func epochRepeatShare(_ history: [StepRecord], recent: [StepRecord]) -> Double? {
        var firstEpoch: [String: Int] = [:]
        var perEpoch: [Int: Set<String>] = [:]
        for r in history {
            guard let f = r.fingerprint, let e = r.epoch else { continue }
            perEpoch[e, default: []].insert(f)
            firstEpoch[f] = min(firstEpoch[f] ?? e, e)
        }
        let batches = perEpoch.values.reduce(0) { $0 + $1.count }
        guard perEpoch.count >= 2, batches >= 2 * perEpoch.count else { return nil }
        let candidates = recent.filter { $0.fingerprint != nil && $0.epoch != nil }
        guard !candidates.isEmpty else { return nil }
        let repeats = candidates.filter { r in
            guard let f = r.fingerprint, let e = r.epoch, let first = firstEpoch[f] else { return false }
            return first < e
        }.count
        return Double(repeats) / Double(candidates.count)
    }

    /// The run as one process would report it, step by step: the mean loss over the ranks that reported
    /// the step (the global mini-batch loss for equal shards), the median of gradient norm, learning rate,
    /// times and throughput, label histograms summed (the global batch), and the lowest rank's fingerprint
    /// and epoch. Steps are ascending.
    public static func consensus(_ histories: [Int: [StepRecord]]) -> [StepRecord] {
        var byStep: [Int: [StepRecord]] = [:]
        for rank in histories.keys.sorted() {
            for record in histories[rank] ?? [] { byStep[record.step, default: []].append(record) }
        }
        return byStep.keys.sorted().compactMap { step in
            guard let records = byStep[step], let first = records.first else { return nil }
            var merged = first
            let losses = records.map(\.loss)
            merged.loss = losses.allSatisfy(\.isFinite) ? losses.reduce(0, +) / Double(losses.count)
                : losses.first { !$0.isFinite } ?? .nan
            merged.gradNorm = medianAllowingNonFinite(records.compactMap(\.gradNorm))
            merged.learningRate = median(records.compactMap(\.learningRate))
            merged.weightNorm = medianAllowingNonFinite(records.compactMap(\.weightNorm))
            merged.dataWait = median(records.compactMap(\.dataWait))
            merged.compute = median(records.compactMap(\.compute))
            merged.allreduceWait = median(records.compactMap(\.allreduceWait))
            merged.throughput = median(records.compactMap(\.throughput))
            let histograms = records.compactMap(\.labelHistogram)
            if let width = histograms.map(\.count).max(), histograms.count == records.count {
                var sum = [Int](repeating: 0, count: width)
                for h in histograms { for (i, c) in h.enumerated() { sum[i] += c } }
                merged.labelHistogram = sum
            }
            return merged
        }
    }

    static func median(_ values: [Double]) -> Double? { HistoryAnalysis.median(values.filter(\.isFinite)) }

    /// The median of finite values, or a non-finite value when any is present (a divergence signal must
    /// survive the merge).
    static func medianAllowingNonFinite(_ values: [Double]) -> Double? {
        if let bad = values.first(where: { !$0.isFinite }) { return bad }
        return HistoryAnalysis.median(values)
    }
}
