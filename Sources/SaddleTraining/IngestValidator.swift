import SaddleJSON

/// Checks step events sent by an external training loop (`run/ingest`) before they reach the store.
///
/// Each element of the array must be an object with `step` (integer ≥ 0) and `loss` (a number, or
/// the string "NaN", "Infinity" or "-Infinity": non-finite loss is divergence evidence, not malformed
/// input), and optionally `rank` and `epoch` (integers ≥ 0, default 0), `gradNorm`, `lr`,
/// `dataWaitSeconds`, `computeSeconds`, `samplesPerSecond` (numbers; gradNorm may be non-finite; the
/// others must be finite and ≥ 0 except lr, which must be finite), `fingerprint` (string) and
/// `labelHistogram` (array of integers ≥ 0), and for distributed runs `allreduceSeconds` (finite, ≥ 0)
/// and `worldSize` (integer ≥ 1, and then `rank` < `worldSize`). Unknown fields are rejected. The first offending field
/// is named by its full path: "`params.steps[3].loss` must be a number, got the string \"x\"".
public enum IngestValidator {
    /// The most events one call may carry.
    public static let maxEvents = 10_000

    /// Validates `reader` (an array of 0 to ``maxEvents`` events, e.g.
    /// `JSONReader(params, path: "params")["steps"]`) and returns the events for run `runId`. An empty
    /// array is valid: a distributed run's rank 0 creates the run before any rank has a step.
    public static func validate(_ reader: JSONReader, runId: String) throws(JSONShapeError) -> [StepEvent] {
        guard case .array(let values)? = reader.value, values.count <= maxEvents else {
            _ = try reader.array(maxCount: maxEvents)  // throws the precise error
            return []
        }
        var events: [StepEvent] = []
        events.reserveCapacity(values.count)
        for (index, value) in values.enumerated() {
            // Well-formed events (nearly all) are read directly; only an offending one is read again
            // through JSONReader, whose error names its path.
            if let event = fastEvent(value, runId: runId) {
                events.append(event)
            } else {
                events.append(try checkedEvent(JSONReader(value, path: "\(reader.path)[\(index)]"), runId: runId))
            }
        }
        return events
    }

    static let fields: Set<String> = [
        "step", "rank", "epoch", "loss", "gradNorm", "lr", "dataWaitSeconds", "computeSeconds",
        "samplesPerSecond", "fingerprint", "labelHistogram", "allreduceSeconds", "worldSize",
    ]

    /// The largest `rank` accepted, and so the largest `worldSize` is one more.
    static let maxRank = 1 << 20

    /// The event, or nil when anything about it is not exactly what ``checkedEvent(_:runId:)`` accepts.
    private static func fastEvent(_ value: JSON, runId: String) -> StepEvent? {
        guard case .object(let m) = value, m.keys.allSatisfy({ fields.contains($0) }) else { return nil }
        func present(_ key: String) -> JSON? {
            guard let v = m[key], v != .null else { return nil }
            return v
        }
        func integer(_ key: String, default d: Int?, max: Int = .max) -> Int?? {
            guard let v = present(key) else { return d.map { .some($0) } ?? .none }
            guard let i = v.int64Value, let n = Int(exactly: i), n >= 0, n <= max else { return .none }
            return .some(n)
        }
        /// .some(nil) when absent, .some(n) when valid, nil when invalid.
        func optionalInteger(_ key: String, min: Int, max: Int) -> Int?? {
            guard let v = present(key) else { return .some(nil) }
            guard let i = v.int64Value, let n = Int(exactly: i), n >= min, n <= max else { return nil }
            return .some(n)
        }
        /// .some(nil) when absent, .some(x) when valid, nil when invalid.
        func real(_ key: String, finite: Bool, nonNegative: Bool) -> Double?? {
            guard let v = present(key) else { return .some(nil) }
            guard let d = v.doubleValue else { return nil }
            if finite && !d.isFinite { return nil }
            if nonNegative && d < 0 { return nil }
            return .some(d)
        }
        guard let rank = integer("rank", default: 0, max: maxRank) ?? nil, let step = integer("step", default: nil) ?? nil,
              let epoch = integer("epoch", default: 0) ?? nil,
              let lossValue = present("loss"), let loss = lossValue.doubleValue,
              let gradNorm = real("gradNorm", finite: false, nonNegative: false), let lr = real("lr", finite: true, nonNegative: false),
              let wait = real("dataWaitSeconds", finite: true, nonNegative: true),
              let compute = real("computeSeconds", finite: true, nonNegative: true),
              let throughput = real("samplesPerSecond", finite: true, nonNegative: true),
              let allreduce = real("allreduceSeconds", finite: true, nonNegative: true),
              let worldSize = optionalInteger("worldSize", min: 1, max: maxRank + 1)
        else { return nil }
        if let worldSize, rank >= worldSize { return nil }
        var fingerprint: String?
        if let f = present("fingerprint") {
            guard case .string(let text) = f else { return nil }
            fingerprint = text
        }
        var histogram: [Int]?
        if let h = present("labelHistogram") {
            guard case .array(let bins) = h else { return nil }
            var counts: [Int] = []
            counts.reserveCapacity(bins.count)
            for bin in bins {
                guard let i = bin.int64Value, let n = Int(exactly: i), n >= 0 else { return nil }
                counts.append(n)
            }
            histogram = counts
        }
        return StepEvent(runId: runId, rank: rank, step: step, epoch: epoch, loss: loss, gradNorm: gradNorm, lr: lr,
                         dataWaitSeconds: wait, computeSeconds: compute, samplesPerSecond: throughput,
                         fingerprint: fingerprint, labelHistogram: histogram, allreduceSeconds: allreduce,
                         worldSize: worldSize)
    }

    /// Reads one event through JSONReader: the reference rules, with errors that name the offending field.
    private static func checkedEvent(_ e: JSONReader, runId: String) throws(JSONShapeError) -> StepEvent {
        _ = try e.object(allowing: fields)
        let histogram: [Int]? = try e["labelHistogram"].optionalArray().map { (counts) throws(JSONShapeError) in
            var out: [Int] = []
            for c in counts { out.append(try c.int(min: 0)) }
            return out
        }
        let rank = try e["rank"].int(default: 0, min: 0, max: maxRank)
        let worldSize = try e["worldSize"].optionalInt(min: 1, max: maxRank + 1)
        if let worldSize, rank >= worldSize {
            throw e["rank"].fail("must be less than `worldSize` (\(worldSize)): ranks count from 0, got \(rank)")
        }
        return StepEvent(
            runId: runId, rank: rank,
            step: try e["step"].int(min: 0), epoch: try e["epoch"].int(default: 0, min: 0),
            loss: try e["loss"].double(finite: false),
            gradNorm: e["gradNorm"].isAbsent ? nil : try e["gradNorm"].double(finite: false),
            lr: try e["lr"].optionalDouble(),
            dataWaitSeconds: try e["dataWaitSeconds"].optionalDouble(min: 0),
            computeSeconds: try e["computeSeconds"].optionalDouble(min: 0),
            samplesPerSecond: try e["samplesPerSecond"].optionalDouble(min: 0),
            fingerprint: try e["fingerprint"].optionalString(), labelHistogram: histogram,
            allreduceSeconds: try e["allreduceSeconds"].optionalDouble(min: 0), worldSize: worldSize)
    }
}
