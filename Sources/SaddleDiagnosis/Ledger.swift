/// The items, decisive strengths and missing names collected while the procedure runs.
struct Ledger {
    var items: [EvidenceItem] = []
    /// Strength in [0, 1] of each decisive item (how far past its threshold it lies).
    var strengths: [Double] = []
    var missing: [String] = []

    /// Appends an item; returns its index.
    @discardableResult
    mutating func add(_ item: EvidenceItem) -> Int {
        items.append(item)
        return items.count - 1
    }

    /// Marks item `index` decisive for `verdict` (so it points there) and records its strength.
    mutating func decide(_ index: Int, for verdict: Verdict, strength: Double) {
        items[index].decisive = true
        if items[index].supports == false || items[index].concerns != verdict {
            items[index].concerns = verdict
            items[index].supports = true
        }
        strengths.append(strength)
    }

    mutating func miss(_ names: String...) {
        for name in names where !missing.contains(name) { missing.append(name) }
    }
}

/// How far past its threshold a value lies, as a strength in [0, 1] (used for confidence).
enum Margin {
    /// Relative distance |v − t| / |t|, capped at 1 (twice the threshold, or half of it, is full strength).
    /// A zero threshold gives 1 unless the value equals it.
    static func linear(_ value: Double, _ threshold: Double) -> Double {
        guard value.isFinite, threshold.isFinite else { return 1 }
        if threshold == 0 { return value == 0 ? 0 : 1 }
        return min(1, abs(value - threshold) / abs(threshold))
    }

    /// Distance in decades between positive magnitudes, |log10(v / t)| / 2, capped at 1 (two decades is
    /// full strength); a zero value below a positive threshold gives 1.
    static func decades(_ value: Double, _ threshold: Double) -> Double {
        guard threshold > 0, value.isFinite else { return 1 }
        if value <= 0 { return 1 }
        return min(1, abs(Elementary.log10(value / threshold)) / 2)
    }
}
