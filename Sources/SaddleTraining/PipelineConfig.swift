import SaddleJSON

/// How a ``DataPipeline`` batches and loads, decodable from JSON:
/// `{"batchSize":32,"shuffle":true,"dropLast":false,"prefetch":4,"workers":1,"faults":{...}}`.
///
/// `shuffle` (default true) draws a fresh permutation of the samples each epoch from the seed;
/// false serves samples in order 0, 1, 2, … (itself a fault worth diagnosing). `dropLast` drops a
/// final partial batch. `prefetch` bounds how many batches may be ready ahead of the trainer.
public struct PipelineConfig: Sendable, Equatable, JSONDecodable, JSONEncodable {
    public var batchSize: Int
    public var shuffle: Bool
    public var dropLast: Bool
    public var prefetch: Int
    public var workers: Int
    public var faults: FaultInjection

    public init(
        batchSize: Int, shuffle: Bool = true, dropLast: Bool = false, prefetch: Int = 4, workers: Int = 1,
        faults: FaultInjection = FaultInjection()
    ) {
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.dropLast = dropLast
        self.prefetch = prefetch
        self.workers = workers
        self.faults = faults
    }

    public init(from reader: JSONReader) throws(JSONShapeError) {
        _ = try reader.object(allowing: ["batchSize", "shuffle", "dropLast", "prefetch", "workers", "faults"])
        batchSize = try reader["batchSize"].int(min: 1)
        shuffle = try reader["shuffle"].bool(default: true)
        dropLast = try reader["dropLast"].bool(default: false)
        prefetch = try reader["prefetch"].int(default: 4, min: 1, max: 1024)
        workers = try reader["workers"].int(default: 1, min: 1, max: 64)
        faults = try reader["faults"].decodeIfPresent(FaultInjection.self) ?? FaultInjection()
    }

    public var json: JSON {
        [
            "batchSize": .int(batchSize), "shuffle": .bool(shuffle), "dropLast": .bool(dropLast),
            "prefetch": .int(prefetch), "workers": .int(workers), "faults": faults.json,
        ]
    }
}

/// Faults a ``DataPipeline`` injects on purpose, so that `dataPipelineStall` diagnoses can be
/// reproduced. JSON (all optional; times in milliseconds):
/// `{"delayMs":20,"randomDelayMs":[0,50],"stallEvery":100,"stallMs":2000,"repeatBatch":true,
///   "corruptLabels":0.3,"workerDiesAfter":500}`.
///
/// - `delayMs`: every batch takes this much longer to load.
/// - `randomDelayMs`: plus a uniform delay in [lo, hi), drawn per batch from the seed.
/// - `stallEvery`/`stallMs`: every `stallEvery`-th batch (batch numbers N−1, 2N−1, …) takes `stallMs` more.
/// - `repeatBatch`: every batch is the first batch again (same indices, same fingerprint).
/// - `corruptLabels`: each class label is replaced, with this probability, by a class drawn uniformly
///   (it may coincide with the true one), per batch from the seed.
/// - `workerDiesAfter`: the loader dies after producing this many batches; the next step fails
///   with ``PipelineError/workerDied(after:)``.
public struct FaultInjection: Sendable, Equatable, JSONDecodable, JSONEncodable {
    public var delaySeconds: Double
    public var randomDelaySeconds: ClosedRange<Double>?
    public var stallEvery: Int?
    public var stallSeconds: Double
    public var repeatBatch: Bool
    public var corruptLabels: Double
    public var workerDiesAfter: Int?

    public init(
        delaySeconds: Double = 0, randomDelaySeconds: ClosedRange<Double>? = nil, stallEvery: Int? = nil,
        stallSeconds: Double = 0, repeatBatch: Bool = false, corruptLabels: Double = 0, workerDiesAfter: Int? = nil
    ) {
        self.delaySeconds = delaySeconds
        self.randomDelaySeconds = randomDelaySeconds
        self.stallEvery = stallEvery
        self.stallSeconds = stallSeconds
        self.repeatBatch = repeatBatch
        self.corruptLabels = corruptLabels
        self.workerDiesAfter = workerDiesAfter
    }

    /// Whether any fault is set.
    public var isEmpty: Bool { self == FaultInjection() }

    public init(from reader: JSONReader) throws(JSONShapeError) {
        _ = try reader.object(allowing: [
            "delayMs", "randomDelayMs", "stallEvery", "stallMs", "repeatBatch", "corruptLabels", "workerDiesAfter",
        ])
        delaySeconds = try reader["delayMs"].double(default: 0, min: 0, max: 600_000) / 1000
        if let range = try reader["randomDelayMs"].optionalArray() {
            guard range.count == 2 else {
                throw reader["randomDelayMs"].fail("must be [low, high] in milliseconds, got \(range.count) element(s)")
            }
            let lo = try range[0].double(min: 0, max: 600_000), hi = try range[1].double(min: 0, max: 600_000)
            guard lo <= hi else { throw range[1].fail("must be at least the low end \(lo), got \(hi)") }
            randomDelaySeconds = (lo / 1000)...(hi / 1000)
        }
        stallEvery = try reader["stallEvery"].optionalInt(min: 1)
        stallSeconds = try reader["stallMs"].double(default: 0, min: 0, max: 600_000) / 1000
        if stallEvery != nil && reader["stallMs"].isAbsent { throw reader["stallMs"].fail("is required with stallEvery") }
        repeatBatch = try reader["repeatBatch"].bool(default: false)
        corruptLabels = try reader["corruptLabels"].double(default: 0, min: 0, max: 1)
        workerDiesAfter = try reader["workerDiesAfter"].optionalInt(min: 0)
    }

    public var json: JSON {
        var o: [String: JSON] = [:]
        if delaySeconds > 0 { o["delayMs"] = .double(delaySeconds * 1000) }
        if let r = randomDelaySeconds { o["randomDelayMs"] = [.double(r.lowerBound * 1000), .double(r.upperBound * 1000)] }
        if let stallEvery { o["stallEvery"] = .int(stallEvery); o["stallMs"] = .double(stallSeconds * 1000) }
        if repeatBatch { o["repeatBatch"] = true }
        if corruptLabels > 0 { o["corruptLabels"] = .double(corruptLabels) }
        if let workerDiesAfter { o["workerDiesAfter"] = .int(workerDiesAfter) }
        return .object(o)
    }
}
