/// Numbers derived from a training history, each `nil` where the history does not hold what it needs.
public struct HistorySummary: Sendable, Equatable {
    /// Records in the history.
    public var count: Int
    /// Step of the first non-finite loss in the trailing window, of a non-finite weight norm, or of a
    /// non-finite latest gradient norm. (An earlier non-finite gradient alone is not counted: loss scaling
    /// in mixed precision skips such steps routinely.)
    public var nonFiniteStep: Int?
    /// Relative loss change over the trailing `plateauWindow` steps: least-squares slope × step span ÷
    /// max(|mean loss|, 1e-300). Needs 3 finite losses.
    public var lossRelativeChange: Double?
    /// Median loss of the window's last third ÷ median of its first third. Needs 6 finite losses.
    public var lossThirdsRatio: Double?
    /// Steps since the loss first came within `plateauRelativeSlope` (relative) of its best value.
    public var plateauLength: Int?
    /// Gradient-norm growth over the window: median of the last third ÷ median of the first third.
    public var gradNormGrowth: Double?
    /// Weight-norm growth over the window, as for the gradient norm.
    public var weightNormGrowth: Double?
    /// Median gradient norm of the first `earlyWindow` steps.
    public var earlyGradNorm: Double?
    /// Σ dataWait ÷ Σ (dataWait + compute) over the trailing `dataWindow` steps.
    public var dataWaitShare: Double?
    /// Median throughput of the trailing `dataWindow` steps ÷ median before them, minus 1.
    public var throughputChange: Double?
    /// Mean seconds a step waited for data over the trailing `dataWindow` steps.
    public var meanDataWait: Double?
    /// 1 − distinct ÷ count of fingerprints in the trailing `dataWindow` steps; where steps carry their
    /// epoch, a batch counts as repeated only within its epoch (full-batch training feeds the same batch
    /// every epoch, and that is no stall).
    public var repeatedBatchShare: Double?
    /// Mean normalized label entropy of the trailing `dataWindow` batches.
    public var labelEntropy: Double?
    /// The latest record's loss, gradient norm and learning rate.
    public var lastLoss: Double?
    public var lastGradNorm: Double?
    public var lastLearningRate: Double?
}

/// Pure functions that turn a history into ``HistorySummary`` numbers.
public enum HistoryAnalysis {
    /// Summarizes `history` (oldest first) with the windows of `thresholds`.
    public static func summarize(_ history: [StepRecord], thresholds: Thresholds) -> HistorySummary {
        var summary = HistorySummary(count: history.count)
        guard let last = history.last else { return summary }
        summary.lastLoss = last.loss
        summary.lastGradNorm = last.gradNorm
        summary.lastLearningRate = history.last(where: { $0.learningRate != nil })?.learningRate

        let window = Array(history.suffix(max(thresholds.plateauWindow, 3)))
        if let bad = window.first(where: { !$0.loss.isFinite || ($0.weightNorm.map { !$0.isFinite } ?? false) }) {
            summary.nonFiniteStep = bad.step
        } else if let g = last.gradNorm, !g.isFinite {
            summary.nonFiniteStep = last.step
        }

        let finite = window.filter { $0.loss.isFinite }
        summary.lossRelativeChange = relativeChange(steps: finite.map { Double($0.step) }, values: finite.map(\.loss))
        summary.lossThirdsRatio = thirdsRatio(finite.map(\.loss))
        summary.plateauLength = plateauLength(
            history.filter { $0.loss.isFinite },
            tolerance: thresholds.plateauRelativeSlope)
        summary.gradNormGrowth = thirdsRatio(window.compactMap(\.gradNorm).filter(\.isFinite))
        summary.weightNormGrowth = thirdsRatio(window.compactMap(\.weightNorm).filter(\.isFinite))
        summary.earlyGradNorm = median(
            history.prefix(max(thresholds.earlyWindow, 1)).compactMap(\.gradNorm)
                .filter(\.isFinite))

        let dataWindow = max(thresholds.dataWindow, 1)
        let recent = Array(history.suffix(dataWindow))
        summary.dataWaitShare = dataWaitShare(recent)
        let waits = recent.compactMap(\.dataWait).filter(\.isFinite)
        summary.meanDataWait = waits.isEmpty ? nil : waits.reduce(0, +) / Double(waits.count)
        summary.throughputChange = throughputChange(history, window: dataWindow)
        summary.repeatedBatchShare = repeatedShare(
            recent.compactMap { r in
                r.fingerprint.map { f in r.epoch.map { "\($0):\(f)" } ?? f }
            })
        let entropies = recent.compactMap(\.labelHistogram).compactMap(normalizedEntropy)
        summary.labelEntropy = entropies.isEmpty ? nil : entropies.reduce(0, +) / Double(entropies.count)
        return summary
    }

    /// Least-squares slope of `values` against `steps`, times the step span, divided by
    /// max(|mean|, 1e-300): the relative change of the fitted line across the window. `nil` for fewer
    /// than 3 points or a zero step span.
    public static func relativeChange(steps: [Double], values: [Double]) -> Double? {
        let n = Double(values.count)
        guard values.count >= 3, steps.count == values.count,
            let first = steps.first, let last = steps.last, last != first
        else { return nil }
        let meanX = steps.reduce(0, +) / n
        let meanY = values.reduce(0, +) / n
        var sxy = 0.0
        var sxx = 0.0
        for (x, y) in zip(steps, values) {
            sxy += (x - meanX) * (y - meanY)
            sxx += (x - meanX) * (x - meanX)
        }
        guard sxx > 0 else { return nil }
        return sxy / sxx * (last - first) / max(abs(meanY), 1e-300)
    }

    /// Median of the last third ÷ median of the first third; `nil` for fewer than 6 values or a first
    /// median that is not positive.
    public static func thirdsRatio(_ values: [Double]) -> Double? {
        guard values.count >= 6 else { return nil }
        let third = values.count / 3
        guard let early = median(values.prefix(third)), let late = median(values.suffix(third)), early > 0 else {
            return nil
        }
        return late / early
    }

    /// Steps from the first record whose loss is within `tolerance`·max(|best|, 1e-300) of the best
    /// (lowest) loss, to the last record: how long the loss has not improved meaningfully.
    public static func plateauLength(_ history: [StepRecord], tolerance: Double) -> Int? {
        guard let last = history.last, let best = history.map(\.loss).min() else { return nil }
        let band = tolerance * max(abs(best), 1e-300)
        guard let reached = history.first(where: { $0.loss <= best + band }) else { return nil }
        return last.step - reached.step
    }

    /// Median of finite values; `nil` when empty.
    public static func median<C: Collection>(_ values: C) -> Double? where C.Element == Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return nil }
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }

    /// Σ dataWait ÷ Σ (dataWait + compute) over records that have both; `nil` when none or the total is 0.
    public static func dataWaitShare(_ records: [StepRecord]) -> Double? {
        var wait = 0.0
        var total = 0.0
        for r in records {
            guard let w = r.dataWait, let c = r.compute, w.isFinite, c.isFinite, w >= 0, c >= 0 else { continue }
            wait += w
            total += w + c
        }
        return total > 0 ? wait / total : nil
    }

    /// Median throughput of the last `window` records ÷ median of the records before them, minus 1. With
    /// fewer than `window` earlier records, the history is split into halves instead (needs 4 values).
    public static func throughputChange(_ history: [StepRecord], window: Int) -> Double? {
        let values = history.compactMap(\.throughput).filter { $0.isFinite && $0 >= 0 }
        guard values.count >= 4 else { return nil }
        let split = values.count >= 2 * window ? values.count - window : values.count / 2
        guard let earlier = median(values.prefix(split)), let recent = median(values.suffix(values.count - split)),
            earlier > 0
        else { return nil }
        return recent / earlier - 1
    }

    /// 1 − distinct ÷ count; `nil` for fewer than 2 fingerprints.
    public static func repeatedShare<T: Hashable>(_ fingerprints: [T]) -> Double? {
        guard fingerprints.count >= 2 else { return nil }
        return 1 - Double(Set(fingerprints).count) / Double(fingerprints.count)
    }

    /// Shannon entropy of the histogram divided by log(number of bins), in [0, 1]; `nil` for fewer than
    /// 2 bins, negative counts, or an empty histogram. One non-zero bin gives 0; uniform gives 1.
    public static func normalizedEntropy(_ histogram: [Int]) -> Double? {
        guard histogram.count >= 2, histogram.allSatisfy({ $0 >= 0 }) else { return nil }
        let total = Double(histogram.reduce(0, +))
        guard total > 0 else { return nil }
        var h = 0.0
        for c in histogram where c > 0 {
            let p = Double(c) / total
            h -= p * Elementary.log(p)
        }
        return h / Elementary.log(Double(histogram.count))
    }
}
