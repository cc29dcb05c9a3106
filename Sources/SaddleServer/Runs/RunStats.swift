import SaddleJSON
import SaddleTraining

/// Figures `run/status` reports about recent steps, folded from every step event (before the
/// notifications are rate-limited). Throughput and data-wait share are over the last
/// ``window`` steps, so they follow a stall within a few dozen steps.
struct RunStats: Sendable {
    static let window = 32
    var last: StepEvent?
    private var waits: [Double] = []
    private var computes: [Double] = []
    private var next = 0
    /// `run/step` notifications sent and step events coalesced away (for this run's connection).
    var notificationsSent = 0
    var coalesced = 0

    mutating func record(_ event: StepEvent) {
        last = event
        let wait = event.dataWaitSeconds ?? 0, compute = event.computeSeconds ?? 0
        if waits.count < Self.window {
            waits.append(wait)
            computes.append(compute)
        } else {
            waits[next] = wait
            computes[next] = compute
            next = (next + 1) % Self.window
        }
    }

    /// Fields merged into the status object: `gradNorm`, `lr`, `samplesPerSecond` from the last step;
    /// `stepsPerSecond` = steps / (wait + compute) and `dataWaitShare` = wait / (wait + compute) over
    /// the window; `dataWaitSeconds` and `computeSeconds` are the window's means.
    var json: [String: JSON] {
        var o: [String: JSON] = ["notificationsSent": .int(notificationsSent), "coalesced": .int(coalesced)]
        if let last {
            if let g = last.gradNorm { o["gradNorm"] = .number(g) }
            if let lr = last.lr { o["lr"] = .number(lr) }
            if let s = last.samplesPerSecond { o["samplesPerSecond"] = .number(s) }
        }
        let wait = waits.reduce(0, +), compute = computes.reduce(0, +), total = wait + compute
        if !waits.isEmpty {
            o["dataWaitSeconds"] = .number(wait / Double(waits.count))
            o["computeSeconds"] = .number(compute / Double(waits.count))
            if total > 0 {
                o["stepsPerSecond"] = .number(Double(waits.count) / total)
                o["dataWaitShare"] = .number(wait / total)
            }
        }
        return o
    }
}
