import SaddleMath
import SaddleModels

/// FNV-1a 64-bit hash of a list of sample indices, as 16 lowercase hex digits. Equal index lists give
/// equal fingerprints, so a repeated batch shows up as a repeated fingerprint.
public func fingerprint(of indices: [Int]) -> String {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for i in indices {
        var v = UInt64(bitPattern: Int64(i))
        for _ in 0..<8 {
            h ^= v & 0xff
            h = h &* 0x0000_0100_0000_01b3
            v >>= 8
        }
    }
    let hex = String(h, radix: 16)
    return String(repeating: "0", count: 16 - hex.count) + hex
}

/// Labels as integers: class targets, or dense single-column targets holding small non-negative
/// integers (binary 0/1 labels). Nil for anything else (regression targets).
func integerLabels<T: BinaryFloatingPoint>(_ targets: Targets<T>) -> [Int]? {
    switch targets {
    case .classes(let labels): return labels.map(Int.init)
    case .dense(let values, let width):
        guard width == 1 else { return nil }
        var out: [Int] = []
        out.reserveCapacity(values.count)
        for v in values {
            guard v >= 0, v < 1024, v.rounded() == v else { return nil }
            out.append(Int(v))
        }
        return out
    }
}

/// Counts per label 0..<max(classCount, largest label + 1); nil when the targets are not labels.
public func labelHistogram<T: BinaryFloatingPoint>(_ targets: Targets<T>, classCount: Int?) -> [Int]? {
    guard let labels = integerLabels(targets), labels.allSatisfy({ $0 >= 0 }) else { return nil }
    let width = max(classCount ?? 0, (labels.max() ?? -1) + 1)
    var counts = [Int](repeating: 0, count: width)
    for l in labels { counts[l] += 1 }
    return counts
}

/// Replaces each label, with probability `fraction`, by one drawn uniformly from the classes
/// (`classCount`, else the largest label in the batch + 1, at least 2). Non-label targets are returned unchanged.
func corrupt<T: BinaryFloatingPoint>(_ targets: Targets<T>, fraction: Double, classCount: Int?, rng: inout SeededRandom)
    -> Targets<T>
{
    guard let labels = integerLabels(targets) else { return targets }
    let k = UInt64(max(classCount ?? 0, (labels.max() ?? 0) + 1, 2))
    var out = labels
    for i in out.indices where rng.uniform() < fraction { out[i] = Int(rng.next() % k) }
    switch targets {
    case .classes: return .classes(out.map { Int32($0) })
    case .dense: return .dense(out.map { T($0) }, width: 1)
    }
}
