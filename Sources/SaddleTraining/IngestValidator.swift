import SaddleJSON

/// Checks step events sent by an external training loop (`run/ingest`) before they reach the store.
///
/// Each element of the array must be an object with `step` (integer ≥ 0) and `loss` (a number, or
/// the string "NaN", "Infinity" or "-Infinity": non-finite loss is divergence evidence, not malformed
/// input), and optionally `rank` and `epoch` (integers ≥ 0, default 0), `gradNorm`, `lr`,
/// `dataWaitSeconds`, `computeSeconds`, `samplesPerSecond` (numbers; gradNorm may be non-finite; the
/// others must be finite and ≥ 0 except lr, which must be finite), `fingerprint` (string) and
/// `labelHistogram` (array of integers ≥ 0). Unknown fields are rejected. The first offending field
/// is named by its full path: "`params.steps[3].loss` must be a number, got the string \"x\"".
public enum IngestValidator {
    /// The most events one call may carry.
    public static let maxEvents = 10_000

    /// Validates `reader` (an array of events, e.g. `JSONReader(params, path: "params")["steps"]`) and
    /// returns the events for run `runId`.
    public static func validate(_ reader: JSONReader, runId: String) throws(JSONShapeError) -> [StepEvent] {
        let elements = try reader.array(minCount: 1, maxCount: maxEvents)
        var events: [StepEvent] = []
        events.reserveCapacity(elements.count)
        for e in elements {
            _ = try e.object(allowing: [
                "step", "rank", "epoch", "loss", "gradNorm", "lr", "dataWaitSeconds", "computeSeconds",
                "samplesPerSecond", "fingerprint", "labelHistogram",
            ])
            let histogram: [Int]? = try e["labelHistogram"].optionalArray().map { (counts) throws(JSONShapeError) in
                var out: [Int] = []
                for c in counts { out.append(try c.int(min: 0)) }
                return out
            }
            events.append(
                StepEvent(
                    runId: runId, rank: try e["rank"].int(default: 0, min: 0, max: 1 << 20),
                    step: try e["step"].int(min: 0), epoch: try e["epoch"].int(default: 0, min: 0),
                    loss: try e["loss"].double(finite: false),
                    gradNorm: e["gradNorm"].isAbsent ? nil : try e["gradNorm"].double(finite: false),
                    lr: try e["lr"].optionalDouble(),
                    dataWaitSeconds: try e["dataWaitSeconds"].optionalDouble(min: 0),
                    computeSeconds: try e["computeSeconds"].optionalDouble(min: 0),
                    samplesPerSecond: try e["samplesPerSecond"].optionalDouble(min: 0),
                    fingerprint: try e["fingerprint"].optionalString(), labelHistogram: histogram))
        }
        return events
    }
}
