/// Step 0 of the procedure, for a distributed run (``Evidence/ranks`` holds two or more ranks): what
/// sets one rank apart from the others. A stall the ranks share falls through to the single-process
/// procedure on the consensus history.
extension Procedure {
    /// In order: non-finite values on some ranks (**diverging**); a rank's loss drifting from the others'
    /// (**rankDivergence**); batches repeating across epochs, across ranks or within an epoch on some ranks
    /// (**dataPipelineStall**); a rank computing (**straggler**) or waiting for data (**dataPipelineStall**)
    /// well beyond the median rank. `nil` when nothing sets ranks apart.
    mutating func crossRank() -> (Verdict, String)? {
        let ranks = e.ranks
        rankCoverageItem()
        if let outcome = nonFiniteRanks(ranks) { return outcome }
        if let outcome = driftingRanks(ranks) { return outcome }
        if let outcome = repeatingRanks(ranks) { return outcome }
        return slowRanks(ranks)
    }

    static func list(_ ranks: [Int]) -> String {
        (ranks.count == 1 ? "rank " : "ranks ") + ranks.map(String.init).joined(separator: ", ")
    }

    /// Informational: ranks of the world that never reported.
    mutating func rankCoverageItem() {
        guard let world = e.worldSize else { return }
        let reporting = Set(e.ranks.map(\.rank))
        let missing = (0..<world).filter { !reporting.contains($0) }
        guard !missing.isEmpty else { return }
        ledger.add(
            EvidenceItem(
                name: "ranksReporting", value: Double(reporting.count), threshold: Double(world), comparison: .less,
                holds: true, concerns: .progressing, supports: false,
                note: "\(Self.list(missing)) of \(world) reported no step: their stalls cannot be seen", ranks: missing))
    }

    mutating func nonFiniteRanks(_ ranks: [RankSummary]) -> (Verdict, String)? {
        let broken = ranks.filter { $0.nonFiniteStep != nil }
        guard !broken.isEmpty else { return nil }
        let ids = broken.map(\.rank)
        let first = broken.compactMap(\.nonFiniteStep).min() ?? 0
        let i = ledger.add(
            EvidenceItem(
                name: "nonFinite", value: .nan, threshold: 0, comparison: .notFinite, holds: true, concerns: .diverging,
                supports: true, note: "non-finite loss or gradient norm on \(Self.list(ids)), first at step \(first)",
                ranks: ids))
        ledger.decide(i, for: .diverging, strength: 1)
        flags.insert("nonFinite")
        implicated = ids
        return (.diverging, "non-finite values on \(Self.list(ids))")
    }

    /// Ranks whose recent median loss lies `rankLossDeviation` (relative) off the median over ranks, and
    /// at least twice as far as early in the run (shards differ a little from the start; replicas out of
    /// sync drift apart).
    mutating func driftingRanks(_ ranks: [RankSummary]) -> (Verdict, String)? {
        guard let center = HistoryAnalysis.median(ranks.compactMap(\.loss)) else { return nil }
        let earlyCenter = HistoryAnalysis.median(ranks.compactMap(\.earlyLoss))
        func deviation(_ x: Double, _ c: Double) -> Double { abs(x - c) / max(abs(c), 1e-12) }
        var drifting: [(rank: Int, deviation: Double)] = []
        var worst = 0.0
        for r in ranks {
            guard let loss = r.loss else { continue }
            let now = deviation(loss, center)
            var early = 0.0
            if let first = r.earlyLoss, let firstCenter = earlyCenter { early = deviation(first, firstCenter) }
            worst = max(worst, now)
            if now >= t.rankLossDeviation && now >= 2 * early { drifting.append((r.rank, now)) }
        }
        let ids = drifting.map(\.rank)
        let value = drifting.map(\.deviation).max() ?? worst
        let i = ledger.add(
            EvidenceItem(
                name: "rankLossDeviation", value: value, threshold: t.rankLossDeviation, comparison: .greaterOrEqual,
                holds: !ids.isEmpty, concerns: .rankDivergence, supports: !ids.isEmpty,
                note: "largest |recent median loss − median over ranks| / |median| (\(center)); counts when at least twice "
                    + "the rank's early deviation", ranks: ids.isEmpty ? nil : ids))
        guard !ids.isEmpty else { return nil }
        ledger.decide(i, for: .rankDivergence, strength: Margin.linear(value, t.rankLossDeviation))
        implicated = ids
        return (.rankDivergence, "the loss of \(Self.list(ids)) drifted away from the other ranks'")
    }

    mutating func repeatingRanks(_ ranks: [RankSummary]) -> (Verdict, String)? {
        let checks: [(String, KeyPath<RankSummary, Double?>, String, String, String)] = [
            (
                "epochRepeatShare", \.epochRepeatShare, "share of recent batches the rank already had in an earlier epoch",
                "the batch order repeats every epoch (a sampler never told the epoch)", "sampler"
            ),
            (
                "sharedBatchShare", \.sharedBatchShare, "share of recent batches another rank also had",
                "ranks train on the same batches (the data is not sharded)", "sampler"
            ),
            (
                "repeatedBatchShare", \.repeatedBatchShare, "share of recent batches repeated within their epoch",
                "batches repeat", "content"
            ),
        ]
        var best: (index: Int, strength: Double, reason: String)?
        var hit = Set<Int>()
        for (name, path, note, reason, flag) in checks {
            let measured = ranks.compactMap { r in r[keyPath: path].map { (r.rank, $0) } }
            guard !measured.isEmpty else { continue }
            let hits = measured.filter { $0.1 >= t.repeatedBatchShare }
            let value = hits.isEmpty ? measured.map(\.1).max() ?? 0 : HistoryAnalysis.median(hits.map(\.1)) ?? 0
            let i = ledger.add(
                EvidenceItem(
                    name: name, value: value, threshold: t.repeatedBatchShare, comparison: .greaterOrEqual,
                    holds: !hits.isEmpty, concerns: .dataPipelineStall, supports: !hits.isEmpty,
                    note: note + (hits.isEmpty ? " (largest over ranks)" : " (median over the ranks named)"),
                    ranks: hits.isEmpty ? nil : hits.map(\.0)))
            guard !hits.isEmpty else { continue }
            hit.formUnion(hits.map(\.0))
            flags.insert("content")
            flags.insert(flag)
            let strength = Margin.linear(value, t.repeatedBatchShare)
            if best == nil || strength > (best?.strength ?? 0) {
                best = (i, strength, "on \(Self.list(hits.map(\.0))) " + reason)
            }
        }
        guard let best else { return nil }
        ledger.decide(best.index, for: .dataPipelineStall, strength: best.strength)
        implicated = hit.sorted()
        return (.dataPipelineStall, best.reason)
    }

    /// A rank is slow when its median compute (or data wait) exceeds the median over ranks by at least
    /// max(`rankDelayMinimum`, `rankImbalance` × the median step); the others then wait for it at the
    /// all-reduce, which their all-reduce wait shows where measured.
    mutating func slowRanks(_ ranks: [RankSummary]) -> (Verdict, String)? {
        let computeCenter = HistoryAnalysis.median(ranks.compactMap(\.compute).filter(\.isFinite))
        let dataCenter = HistoryAnalysis.median(ranks.compactMap(\.dataWait).filter(\.isFinite))
        guard computeCenter != nil || dataCenter != nil else {
            ledger.miss("computeSeconds", "dataWaitSeconds")
            return nil
        }
        let baseline = (computeCenter ?? 0) + (dataCenter ?? 0)
        let floor = max(t.rankDelayMinimum, t.rankImbalance * baseline)
        func excess(_ path: KeyPath<RankSummary, Double?>, _ center: Double?) -> [(rank: Int, excess: Double)] {
            guard let center else { return [] }
            return ranks.compactMap { r in r[keyPath: path].map { (r.rank, $0 - center) } }
        }
        var found: [(index: Int, strength: Double, verdict: Verdict, ids: [Int], reason: String)] = []
        let kinds: [(String, KeyPath<RankSummary, Double?>, Double?, Verdict, String)] = [
            ("rankComputeExcess", \.compute, computeCenter, .straggler, "computes"),
            ("rankDataWaitExcess", \.dataWait, dataCenter, .dataPipelineStall, "waits for data"),
        ]
        for (name, path, center, verdict, what) in kinds {
            let all = excess(path, center)
            guard !all.isEmpty, baseline > 0 else { continue }
            let slow = all.filter { $0.excess >= floor }
            let value = (slow.isEmpty ? all.map(\.excess).max() ?? 0 : slow.map(\.excess).min() ?? 0) / baseline
            let threshold = floor / baseline
            let i = ledger.add(
                EvidenceItem(
                    name: name, value: value, threshold: threshold, comparison: .greaterOrEqual, holds: !slow.isEmpty,
                    concerns: verdict, supports: !slow.isEmpty,
                    note: "(rank's median − median over ranks) / median step \(baseline) s; threshold = "
                        + "max(\(t.rankDelayMinimum) s, \(t.rankImbalance) × median step) / median step",
                    ranks: slow.isEmpty ? nil : slow.map(\.rank)))
            if !slow.isEmpty {
                let ids = slow.map(\.rank)
                found.append(
                    (
                        i, Margin.linear(value, threshold), verdict, ids,
                        "\(Self.list(ids)) \(what) \(value.formatted3)× the median step longer than the other ranks"
                    ))
            }
        }
        guard let best = found.max(by: { $0.strength < $1.strength }) else { return nil }
        // Where measured, the others' all-reduce wait shows what the slow ranks cost them.
        let others = ranks.filter { !best.ids.contains($0.rank) }.compactMap(\.allreduceWait)
        if let wait = HistoryAnalysis.median(others) {
            ledger.add(
                EvidenceItem(
                    name: "allreduceWait", value: wait, threshold: 0, comparison: .greater, holds: wait > 0,
                    concerns: best.verdict, supports: wait > 0,
                    note: "median seconds the other ranks wait at the all-reduce per step"))
        }
        ledger.decide(best.index, for: best.verdict, strength: best.strength)
        flags.insert(best.verdict == .straggler ? "straggler" : "timing")
        implicated = best.ids
        return (best.verdict, best.reason)
    }

    /// The ranks part of the result (nil for one process).
    func rankDiagnosis(verdict: Verdict) -> RankDiagnosis? {
        guard e.ranks.count >= 2 else { return nil }
        let reporting = e.ranks.map(\.rank)
        let world = max(e.worldSize ?? 0, (reporting.max() ?? 0) + 1)
        let seen = Set(reporting)
        var named = implicated
        // A data stall the consensus shows is every rank's.
        if named.isEmpty && verdict == .dataPipelineStall { named = reporting }
        return RankDiagnosis(
            worldSize: world, reporting: reporting, missing: (0..<world).filter { !seen.contains($0) },
            implicated: named)
    }
}

extension Double {
    /// Three significant digits, for reasons.
    var formatted3: String {
        guard isFinite else { return "\(self)" }
        let scaled = (self * 1000).rounded() / 1000
        return "\(scaled)"
    }
}
