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

    public init(
        rank: Int, steps: Int, lastStep: Int, loss: Double? = nil, earlyLoss: Double? = nil,
        compute: Double? = nil, dataWait: Double? = nil, allreduceWait: Double? = nil,
        repeatedBatchShare: Double? = nil, epochRepeatShare: Double? = nil, sharedBatchShare: Double? = nil,
        nonFiniteStep: Int? = nil
    ) {
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
/// for one process, with curvature deciding saddle, minimum or plateau). Both read ``RankWindow``s, so
/// their cost is set by the number of ranks and the windows, not by the length of the run.
public enum RankAnalysis {
    /// One summary per rank (ascending rank) of whole histories (oldest first), through their windows.
    public static func summarize(_ histories: [Int: [StepRecord]], thresholds: Thresholds) -> [RankSummary] {
        summarize(windows: histories.mapValues { RankWindow($0) }, thresholds: thresholds)
    }

    /// One summary per rank (ascending rank): medians over the trailing `dataWindow` steps, the first
    /// steps' loss, and how often batches repeat (within an epoch, across epochs, across ranks).
    public static func summarize(windows: [Int: RankWindow], thresholds: Thresholds) -> [RankSummary] {
        let span = max(thresholds.dataWindow, 1)
        // The rank that had each recent batch, or -1 when several ranks had it.
        var holder: [UInt64: Int] = [:]
        for (rank, window) in windows {
            window.forEachLast(span) { _, key, _ in
                guard let key else { return }
                if let other = holder[key], other != rank { holder[key] = -1 } else { holder[key] = rank }
            }
        }
        let scan = max(span, thresholds.plateauWindow, 3)
        return windows.keys.sorted().compactMap { rank in
            guard let window = windows[rank] else { return nil }
            var summary = RankSummary(rank: rank, steps: window.count, lastStep: window.lastStep ?? 0)
            // One pass over the trailing steps, read in place: the last `span` feed the medians and
            // shares, the last `scan` the non-finite check.
            var losses: [Double] = [], computes: [Double] = [], waits: [Double] = [], reduces: [Double] = []
            var epochKeys: [EpochKey] = []
            var printed = 0, shared = 0
            var position = 0
            let recentFrom = min(scan, window.count) - span
            var lastRecord: (step: Int, gradNorm: Double?)?
            window.forEachLast(scan) { p, k, _ in
                defer { position += 1 }
                let loss = p.pointee.loss
                if summary.nonFiniteStep == nil && !loss.isFinite { summary.nonFiniteStep = p.pointee.step }
                lastRecord = (p.pointee.step, p.pointee.gradNorm)
                guard position >= recentFrom else { return }
                if loss.isFinite { losses.append(loss) }
                if let v = p.pointee.compute, v.isFinite { computes.append(v) }
                if let v = p.pointee.dataWait, v.isFinite { waits.append(v) }
                if let v = p.pointee.allreduceWait, v.isFinite { reduces.append(v) }
                if let k {
                    epochKeys.append(EpochKey(key: k, epoch: p.pointee.epoch ?? -1))
                    printed += 1
                    if holder[k] == -1 { shared += 1 }
                }
            }
            if summary.nonFiniteStep == nil, let last = lastRecord, let g = last.gradNorm, !g.isFinite {
                summary.nonFiniteStep = last.step
            }
            summary.loss = Selection.median(losses)
            summary.earlyLoss = Selection.median(window.head.prefix(span).map(\.loss).filter(\.isFinite))
            summary.compute = Selection.median(computes)
            summary.dataWait = Selection.median(waits)
            summary.allreduceWait = Selection.median(reduces)
            summary.repeatedBatchShare = HistoryAnalysis.repeatedShare(epochKeys)
            summary.epochRepeatShare = window.epochRepeatShare(last: span)
            if printed > 0 && windows.count > 1 { summary.sharedBatchShare = Double(shared) / Double(printed) }
            return summary
        }
    }

    struct EpochKey: Hashable {
        var key: UInt64
        var epoch: Int
    }

    /// The consensus of whole histories (see ``consensus(windows:recent:)``), every step included.
    public static func consensus(_ histories: [Int: [StepRecord]]) -> [StepRecord] {
        var steps = ConsensusSteps()
        for rank in histories.keys.sorted() { for record in histories[rank] ?? [] { steps.add(record) } }
        return steps.records
    }

    /// The run as one process would report it, step by step, from each rank's first `early` steps and
    /// its `recent` latest: means over the ranks that reported the step — of the loss (the global
    /// mini-batch loss for equal shards), the gradient norm (after the all-reduce every rank reports the
    /// same one), learning rate, times and throughput (a rank far off the others was named by the
    /// cross-rank step before the consensus is read) — with a non-finite loss, gradient or weight norm
    /// kept, and the lowest rank's fingerprint and epoch. Label histograms are summed (the global batch)
    /// for the last `labelled` steps, the only ones whose labels the diagnosis reads. Steps ascending.
    public static func consensus(
        windows: [Int: RankWindow], early: Int = RankWindow.headCount, recent: Int,
        labelled: Int = .max
    ) -> [StepRecord] {
        var steps = ConsensusSteps()
        steps.byStep.reserveCapacity(early + recent)
        let newest = windows.values.compactMap(\.lastStep).max() ?? 0
        steps.labelsFrom = labelled == .max ? .min : newest - labelled + 1
        for rank in windows.keys.sorted() {
            guard let window = windows[rank] else { continue }
            window.forEachHeadAndLast(first: early, last: recent) { steps.add($0) }
        }
        return steps.records
    }

    static func median(_ values: [Double]) -> Double? { Selection.median(values.filter(\.isFinite)) }
}

/// The median by selection (Hoare's quickselect, O(n) on average) instead of a full sort: the consensus
/// takes several medians over all ranks for every step.
enum Selection {
    /// The median of `values` (the mean of the two middle ones for an even count); `nil` when empty. The
    /// same value ``HistoryAnalysis/median(_:)`` gives, for finite values.
    static func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        var a = values
        let n = a.count
        let upper = select(&a, n / 2)
        guard n % 2 == 0 else { return upper }
        // After selecting rank n/2, everything below it is ≤ it: the lower middle is their maximum.
        let lower = a[0..<(n / 2)].max() ?? upper
        return (lower + upper) / 2
    }

    /// Rearranges `a` so that `a[k]` is the k-th smallest, smaller or equal values before it; returns it.
    static func select(_ a: inout [Double], _ k: Int) -> Double {
        var low = 0
        var high = a.count - 1
        while low < high {
            let pivot = a[(low + high) / 2]
            var i = low
            var j = high
            while i <= j {
                while a[i] < pivot { i += 1 }
                while a[j] > pivot { j -= 1 }
                if i <= j {
                    a.swapAt(i, j)
                    i += 1
                    j -= 1
                }
            }
            if k <= j { high = j } else if k >= i { low = i } else { break }
        }
        return a[k]
    }
}

/// Per-step sums of the consensus history, gathered rank by rank (lowest first): O(1) per record, since
/// a 256-rank diagnosis merges tens of thousands of records.
struct ConsensusSteps {
    /// A running mean that keeps the first non-finite value it sees (a divergence signal must survive
    /// the merge).
    struct Mean {
        var sum = 0.0
        var count = 0
        var nonFinite: Double?

        mutating func add(_ v: Double?) {
            guard let v else { return }
            if v.isFinite { sum += v; count += 1 } else if nonFinite == nil { nonFinite = v }
        }

        var value: Double? { nonFinite ?? (count > 0 ? sum / Double(count) : nil) }
        /// Finite values only (rates and times: a non-finite one is noise, not divergence).
        var finiteValue: Double? { count > 0 ? sum / Double(count) : nil }
    }

    struct Step {
        var first: StepRecord
        var records = 0
        var loss = Mean(), gradNorm = Mean(), learningRate = Mean(), weightNorm = Mean()
        var dataWait = Mean(), compute = Mean(), allreduceWait = Mean(), throughput = Mean()
        var histogram: [Int] = []
        var histograms = 0

        mutating func accumulate(_ p: UnsafePointer<StepRecord>, labels: Bool) {
            records += 1
            loss.add(p.pointee.loss)
            gradNorm.add(p.pointee.gradNorm)
            learningRate.add(p.pointee.learningRate)
            weightNorm.add(p.pointee.weightNorm)
            dataWait.add(p.pointee.dataWait)
            compute.add(p.pointee.compute)
            allreduceWait.add(p.pointee.allreduceWait)
            throughput.add(p.pointee.throughput)
            if labels, let h = p.pointee.labelHistogram {
                if histogram.count < h.count { histogram.append(contentsOf: repeatElement(0, count: h.count - histogram.count)) }
                for i in h.indices { histogram[i] += h[i] }
                histograms += 1
            }
        }
    }

    var byStep: [Int: Step] = [:]
    /// Label histograms are summed from this step on (and dropped before it).
    var labelsFrom = Int.min

    /// Adds a record lent by pointer (see ``RankWindow/forEachLast(_:_:)``).
    mutating func add(_ p: UnsafePointer<StepRecord>) {
        // The step's first record is copied once; later ones are only read, and the sums change in place.
        let labels = p.pointee.step >= labelsFrom
        byStep[p.pointee.step, default: Step(first: p.pointee)].accumulate(p, labels: labels)
    }

    mutating func add(_ r: StepRecord) {
        withUnsafePointer(to: r) { add($0) }
    }

    var records: [StepRecord] {
        byStep.keys.sorted().compactMap { step in
            guard let s = byStep[step] else { return nil }
            var merged = s.first
            merged.loss = s.loss.value ?? .nan
            merged.gradNorm = s.gradNorm.value
            merged.learningRate = s.learningRate.finiteValue
            merged.weightNorm = s.weightNorm.value
            merged.dataWait = s.dataWait.finiteValue
            merged.compute = s.compute.finiteValue
            merged.allreduceWait = s.allreduceWait.finiteValue
            merged.throughput = s.throughput.finiteValue
            // The global batch's labels only when every rank reported its own.
            merged.labelHistogram = s.histograms == s.records && s.histograms > 0 ? s.histogram : nil
            if merged.step < labelsFrom { merged.labelHistogram = nil }
            return merged
        }
    }
}
