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
    ///
    /// One pass over the object's members, switching on the key (no hashing per field: this runs for
    /// every ingested event).
    static func fastEvent(_ value: JSON, runId: String) -> StepEvent? {
        guard case .object(let members) = value else { return nil }
        var event = StepEvent(runId: runId, step: -1, loss: 0)
        var hasLoss = false
        for (key, v) in members {
            if case .null = v {  // null reads as absent, but only for a known field
                guard fields.contains(key) else { return nil }
                continue
            }
            switch key {
            case "step": guard let n = count(v) else { return nil }; event.step = n
            case "loss": guard let d = v.doubleValue else { return nil }; event.loss = d; hasLoss = true
            case "rank": guard let n = count(v), n <= maxRank else { return nil }; event.rank = n
            case "epoch": guard let n = count(v) else { return nil }; event.epoch = n
            case "gradNorm": guard let d = v.doubleValue else { return nil }; event.gradNorm = d
            case "lr": guard let d = v.doubleValue, d.isFinite else { return nil }; event.lr = d
            case "dataWaitSeconds": guard let d = duration(v) else { return nil }; event.dataWaitSeconds = d
            case "computeSeconds": guard let d = duration(v) else { return nil }; event.computeSeconds = d
            case "samplesPerSecond": guard let d = duration(v) else { return nil }; event.samplesPerSecond = d
            case "allreduceSeconds": guard let d = duration(v) else { return nil }; event.allreduceSeconds = d
            case "worldSize": guard let n = count(v), n >= 1, n <= maxRank + 1 else { return nil }; event.worldSize = n
            case "fingerprint": guard case .string(let text) = v else { return nil }; event.fingerprint = text
            case "labelHistogram":
                guard case .array(let bins) = v else { return nil }
                var counts: [Int] = []
                counts.reserveCapacity(bins.count)
                for bin in bins {
                    guard let n = count(bin) else { return nil }
                    counts.append(n)
                }
                event.labelHistogram = counts
            default: return nil  // unknown field
            }
        }
        guard event.step >= 0, hasLoss else { return nil }
        if let worldSize = event.worldSize, event.rank >= worldSize { return nil }
        return event
    }

    /// An integer ≥ 0 (an integral real too, as ``JSONReader/int(min:max:)`` reads it).
    @inline(__always) private static func count(_ v: JSON) -> Int? {
        if case .int(let i) = v { return i >= 0 ? Int(exactly: i) : nil }
        guard let i = v.int64Value, let n = Int(exactly: i), n >= 0 else { return nil }
        return n
    }

    /// A finite number ≥ 0.
    @inline(__always) private static func duration(_ v: JSON) -> Double? {
        if case .double(let d) = v { return d.isFinite && d >= 0 ? d : nil }
        guard let d = v.doubleValue, d.isFinite, d >= 0 else { return nil }
        return d
    }

    /// Reads one event through JSONReader: the reference rules, with errors that name the offending field.
    static func checkedEvent(_ e: JSONReader, runId: String) throws(JSONShapeError) -> StepEvent {
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
