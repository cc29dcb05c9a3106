import SaddleJSON

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// A learning-rate schedule: the multiplier-free rule lr(t) for the 0-based update index t.
///
/// Decodes `{"kind":"cosine","steps":1000,"minLr":0,"warmup":100}`. Kinds and formulas (η = base lr,
/// η_min = `minLr`, s = t − warmup, the index after the warm-up):
/// - `constant`: η.
/// - `step`: η·γ^⌊s/stepSize⌋ (`torch.optim.lr_scheduler.StepLR`; γ defaults to 0.1).
/// - `cosine`: η_min + (η − η_min)(1 + cos(π·s/steps))/2 for s ≤ steps, then η_min (held at the floor,
///   where PyTorch's closed form would rise again).
/// - `warmRestarts` (SGDR, `CosineAnnealingWarmRestarts`): the cosine over periods T₀, T₀·m, T₀·m², …
///   (`period`, `periodMultiplier` ≥ 1), restarting at η after each.
/// - `warmup` (any kind, default 0): for t < warmup, lr = η·(t + 1)/warmup (linear, never 0 at the first
///   step); afterwards the main schedule starts at s = 0 (as `SequentialLR` with one milestone).
public struct ScheduleConfig: Sendable, Equatable, JSONDecodable, JSONEncodable {
    public enum Kind: Sendable, Equatable {
        case constant
        case step(stepSize: Int, gamma: Double)
        case cosine(steps: Int, minLr: Double)
        case warmRestarts(period: Int, periodMultiplier: Int, minLr: Double)
    }
    public var kind: Kind
    public var warmup: Int

    public init(_ kind: Kind = .constant, warmup: Int = 0) {
        self.kind = kind
        self.warmup = warmup
    }

    public init(from reader: JSONReader) throws(JSONShapeError) {
        let name = try reader["kind"].oneOf(["constant", "step", "cosine", "warmRestarts"], default: "constant")
        switch name {
        case "step":
            _ = try reader.object(allowing: ["kind", "warmup", "stepSize", "gamma"])
            kind = .step(stepSize: try reader["stepSize"].int(min: 1), gamma: try reader["gamma"].double(default: 0.1, min: 0))
        case "cosine":
            _ = try reader.object(allowing: ["kind", "warmup", "steps", "minLr"])
            kind = .cosine(steps: try reader["steps"].int(min: 1), minLr: try reader["minLr"].double(default: 0, min: 0))
        case "warmRestarts":
            _ = try reader.object(allowing: ["kind", "warmup", "period", "periodMultiplier", "minLr"])
            kind = .warmRestarts(
                period: try reader["period"].int(min: 1),
                periodMultiplier: try reader["periodMultiplier"].int(default: 1, min: 1),
                minLr: try reader["minLr"].double(default: 0, min: 0))
        default:
            _ = try reader.object(allowing: ["kind", "warmup"])
            kind = .constant
        }
        warmup = try reader["warmup"].int(default: 0, min: 0)
    }

    public var json: JSON {
        var o: [String: JSON] = ["warmup": .int(warmup)]
        switch kind {
        case .constant: o["kind"] = "constant"
        case .step(let n, let g): o["kind"] = "step"; o["stepSize"] = .int(n); o["gamma"] = .double(g)
        case .cosine(let n, let m): o["kind"] = "cosine"; o["steps"] = .int(n); o["minLr"] = .double(m)
        case .warmRestarts(let p, let mult, let m):
            o["kind"] = "warmRestarts"; o["period"] = .int(p); o["periodMultiplier"] = .int(mult); o["minLr"] = .double(m)
        }
        return .object(o)
    }

    /// The learning rate for the 0-based update index `t` (negative t is treated as 0).
    public func learningRate(base: Double, step t: Int) -> Double {
        let t = max(t, 0)
        if t < warmup { return base * Double(t + 1) / Double(warmup) }
        let s = t - warmup
        switch kind {
        case .constant:
            return base
        case .step(let stepSize, let gamma):
            return base * pow(gamma, Double(s / stepSize))
        case .cosine(let steps, let minLr):
            if s >= steps { return minLr }
            return minLr + (base - minLr) * (1 + cos(Double.pi * Double(s) / Double(steps))) / 2
        case .warmRestarts(let period, let mult, let minLr):
            var tCur = s
            var tI = period
            while tCur >= tI {
                tCur -= tI
                // Periods grow geometrically, so this loop runs O(log s) times for mult > 1.
                tI = tI.multipliedReportingOverflow(by: mult).overflow ? Int.max : tI * mult
            }
            return minLr + (base - minLr) * (1 + cos(Double.pi * Double(tCur) / Double(tI))) / 2
        }
    }
}
