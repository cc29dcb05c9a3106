import Foundation
import SaddleMath
import SaddleModels
import SaddleThreads

/// Why the pipeline could not deliver a batch. Once one is thrown, every later ``DataPipeline/next()``
/// throws it again: a pipeline does not recover.
public enum PipelineError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The loader died (fault injection `workerDiesAfter`) after producing this many batches.
    case workerDied(after: Int)
    /// The ``BatchSource`` threw while building batch `batch` (0-based batch number).
    case sourceFailed(batch: Int, message: String)
    /// The data set cannot produce even one batch.
    case empty(samples: Int, batchSize: Int)
    /// ``DataPipeline/cancel()`` was called.
    case cancelled

    public var description: String {
        switch self {
        case .workerDied(let n):
            return "data loader worker died after \(n) batch(es); no more batches will arrive"
        case .sourceFailed(let batch, let message):
            return "data source failed while loading batch \(batch): \(message)"
        case .empty(let samples, let batchSize):
            return "data set of \(samples) sample(s) yields no batch of size \(batchSize) (lower batchSize or set dropLast false)"
        case .cancelled:
            return "data pipeline cancelled"
        }
    }
}

/// A batch as the pipeline delivers it, with what diagnosis needs to know about it.
public struct LoadedBatch<T: Sendable>: Sendable {
    /// 0-based batch number across epochs (the trainer's step index when it consumes every batch).
    public var number: Int
    public var epoch: Int
    /// Sample indices in the batch, in order.
    public var indices: [Int]
    public var batch: Batch<T>
    /// FNV-1a 64-bit hash of `indices`, as 16 hex digits: equal for a repeated batch.
    public var fingerprint: String
    /// Count per class of the batch's labels (after any corruption); nil for non-label targets.
    public var labelHistogram: [Int]?
    /// Seconds ``DataPipeline/next()`` blocked waiting for this batch (0 when it was prefetched).
    public var waitSeconds: Double
    /// Seconds the loader spent producing it, injected delays included.
    public var loadSeconds: Double
}

/// Loads batches on loader threads into a bounded prefetch queue, in a deterministic order.
///
/// Batch k belongs to epoch k / batchesPerEpoch; each epoch's order is a permutation drawn from
/// `seed` and the epoch (or the identity with shuffling off), so the sequence of batches, label
/// corruption and random delays is the same for a seed whatever the number of workers. Workers claim
/// batch numbers in order and never run more than `prefetch` batches ahead of the consumer; the
/// consumer receives batches strictly in order. One consumer thread at a time.
public final class DataPipeline<T: BLASScalar>: Sendable {
    public let config: PipelineConfig
    public let sampleCount: Int
    public let batchesPerEpoch: Int
    public let seed: UInt64
    private let shared: Guarded<PipelineState<T>>

    /// Starts `config.workers` loader threads at once.
    /// - Throws: ``PipelineError/empty(samples:batchSize:)`` when no batch can be formed.
    public init<S: BatchSource>(source: S, config: PipelineConfig, seed: UInt64) throws(PipelineError)
    where S.Scalar == T {
        let n = source.sampleCount
        let bpe = config.dropLast ? n / config.batchSize : (n + config.batchSize - 1) / config.batchSize
        guard n > 0, bpe > 0 else { throw .empty(samples: n, batchSize: config.batchSize) }
        self.config = config
        self.sampleCount = n
        self.batchesPerEpoch = bpe
        self.seed = seed
        let shared = Guarded(PipelineState<T>())
        self.shared = shared
        let plan = BatchPlan(config: config, sampleCount: n, batchesPerEpoch: bpe, seed: seed, classCount: source.classCount)
        for w in 0..<config.workers {
            NamedThread.start(name: "saddle.loader.\(w)") { loaderLoop(shared: shared, source: source, plan: plan) }
        }
    }

    deinit { cancel() }

    /// The next batch in order, blocking until a loader has produced it.
    /// - Throws: the loader's ``PipelineError`` (sticky), or `.cancelled` after ``cancel()``.
    public func next() throws(PipelineError) -> LoadedBatch<T> {
        let start = monotonicSeconds()
        let result: Result<LoadedBatch<T>, PipelineError> = shared.wait(
            until: { s in s.cancelled || s.failure != nil || s.ready[s.consumed] != nil }, notify: true
        ) { s, _ in
            if s.cancelled { return .failure(.cancelled) }
            if let failure = s.failure { return .failure(failure) }
            if let r = s.ready.removeValue(forKey: s.consumed) {
                s.consumed += 1
                if case .failure(let e) = r { s.failure = e }
                return r
            }
            return .failure(.cancelled)
        }
        var loaded = try result.get()
        loaded.waitSeconds = monotonicSeconds() - start
        return loaded
    }

    /// Hands a delivered batch back once the caller is done with it, so that a loader refills its storage
    /// instead of allocating a new batch (at most `prefetch + 1` are kept; the rest are freed). Optional.
    /// Safe whatever the caller still holds: arrays still referenced elsewhere are copied before being
    /// overwritten (copy-on-write), so only a batch nobody else holds is reused in place.
    public func recycle(_ batch: consuming Batch<T>) {
        let limit = config.prefetch + 1
        var kept: Batch<T>? = consume batch
        shared.withLock { s in
            if s.spare.count < limit, let b = kept.take() { s.spare.append(b) }
        }
    }

    /// Stops the loaders and wakes a blocked ``next()`` (which throws `.cancelled`). Idempotent.
    public func cancel() {
        shared.withLock(notify: true) { $0.cancelled = true }
    }
}

struct PipelineState<T: Sendable> {
    var nextClaim = 0
    var consumed = 0
    var ready: [Int: Result<LoadedBatch<T>, PipelineError>] = [:]
    var cancelled = false
    var failure: PipelineError?
    var loaderStopped = false
    var epochOrders: [Int: [Int]] = [:]
    /// Batches handed back by ``DataPipeline/recycle(_:)``, for loaders to refill.
    var spare: [Batch<T>] = []
}

/// The deterministic plan: which indices, delays and corruptions batch k gets.
struct BatchPlan: Sendable {
    let config: PipelineConfig
    let sampleCount: Int
    let batchesPerEpoch: Int
    let seed: UInt64
    let classCount: Int?

    func epochOrder(_ epoch: Int) -> [Int] {
        var order = Array(0..<sampleCount)
        guard config.shuffle else { return order }
        var rng = SeededRandom(seed: mix(seed, UInt64(epoch), 0x5348_5546))
        for i in stride(from: sampleCount - 1, to: 0, by: -1) {
            let j = Int(rng.next() % UInt64(i + 1))
            order.swapAt(i, j)
        }
        return order
    }

    /// (epoch of the sample order, position within the epoch) for batch k.
    func slot(_ k: Int) -> (epoch: Int, index: Int) {
        config.faults.repeatBatch ? (0, 0) : (k / batchesPerEpoch, k % batchesPerEpoch)
    }

    func delay(_ k: Int) -> Double {
        let f = config.faults
        var d = f.delaySeconds
        if let r = f.randomDelaySeconds {
            var rng = SeededRandom(seed: mix(seed, UInt64(k), 0x4445_4C41))
            d += rng.uniform(r.lowerBound, r.upperBound)
        }
        if let every = f.stallEvery, (k + 1) % every == 0 { d += f.stallSeconds }
        return d
    }
}

@inline(__always) func mix(_ a: UInt64, _ b: UInt64, _ salt: UInt64) -> UInt64 {
    var x = a ^ (b &* 0x9E37_79B9_7F4A_7C15) ^ (salt &* 0xC2B2_AE3D_27D4_EB4F)
    x = (x ^ (x >> 31)) &* 0xBF58_476D_1CE4_E5B9
    return x ^ (x >> 29)
}

private func loaderLoop<S: BatchSource>(shared: Guarded<PipelineState<S.Scalar>>, source: S, plan: BatchPlan) {
    let faults = plan.config.faults
    while true {
        // Claim the next batch number, at most `prefetch` ahead of the consumer.
        let claim: (k: Int, indices: [Int], spare: Batch<S.Scalar>?)? = shared.wait(
            until: { s in s.cancelled || s.loaderStopped || s.nextClaim - s.consumed < plan.config.prefetch }, notify: true
        ) { s, _ in
            if s.cancelled || s.loaderStopped { return nil }
            let k = s.nextClaim
            s.nextClaim += 1
            if let limit = faults.workerDiesAfter, k >= limit {
                s.loaderStopped = true
                s.ready[k] = .failure(.workerDied(after: limit))
                return nil
            }
            let (epoch, index) = plan.slot(k)
            let order: [Int]
            if let cached = s.epochOrders[epoch] {
                order = cached
            } else {
                order = plan.epochOrder(epoch)
                s.epochOrders = s.epochOrders.filter { $0.key >= epoch - 1 }
                s.epochOrders[epoch] = order
            }
            let lo = index * plan.config.batchSize
            let hi = min(lo + plan.config.batchSize, plan.sampleCount)
            return (k, Array(order[lo..<hi]), s.spare.popLast())
        }
        guard var claim else { return }
        let start = monotonicSeconds()
        // Sleep on the condition so that cancel() interrupts a long stall; loop on the monotonic clock
        // so the delay is never cut short by the wall clock the condition's deadline uses.
        let until = start + plan.delay(claim.k)
        while case let remaining = until - monotonicSeconds(), remaining > 0 {
            let cancelled = shared.wait(until: { $0.cancelled }, deadline: Date(timeIntervalSinceNow: remaining)) { s, _ in
                s.cancelled
            }
            if cancelled { return }
        }
        let result: Result<LoadedBatch<S.Scalar>, PipelineError>
        do {
            var batch: Batch<S.Scalar>
            if let spare = claim.spare.take() {
                batch = spare
                try source.fill(&batch, indices: claim.indices)
            } else {
                batch = try source.batch(indices: claim.indices)
            }
            if faults.corruptLabels > 0 {
                var rng = SeededRandom(seed: mix(plan.seed, UInt64(claim.k), 0x434F_5252))
                batch.targets = corrupt(batch.targets, fraction: faults.corruptLabels, classCount: plan.classCount, rng: &rng)
            }
            result = .success(
                LoadedBatch(
                    number: claim.k, epoch: claim.k / plan.batchesPerEpoch, indices: claim.indices, batch: batch,
                    fingerprint: fingerprint(of: claim.indices),
                    labelHistogram: labelHistogram(batch.targets, classCount: plan.classCount),
                    waitSeconds: 0, loadSeconds: monotonicSeconds() - start))
        } catch {
            result = .failure(.sourceFailed(batch: claim.k, message: "\(error)"))
        }
        let stop: Bool = shared.withLock(notify: true) { s in
            s.ready[claim.k] = result
            if case .failure = result { s.loaderStopped = true }
            return s.cancelled || s.loaderStopped
        }
        if stop { return }
    }
}
