import Foundation
import SaddleJSON
import SaddleModels
import XCTest

@testable import SaddleTraining

final class DataPipelineTests: XCTestCase {
    private func pipeline(samples: Int = 10, classes: Int = 10, _ config: PipelineConfig, seed: UInt64 = 1) throws
        -> DataPipeline<Double>
    {
        try DataPipeline(source: labelledSource(samples: samples, classes: classes), config: config, seed: seed)
    }

    private func take(_ p: DataPipeline<Double>, _ n: Int) throws -> [LoadedBatch<Double>] {
        try (0..<n).map { _ in try p.next() }
    }

    func testShufflingOffServesSamplesInOrder() throws {
        let p = try pipeline(PipelineConfig(batchSize: 3, shuffle: false))
        let batches = try take(p, 5)
        XCTAssertEqual(batches.map(\.indices), [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9], [0, 1, 2]])
        XCTAssertEqual(batches.map(\.epoch), [0, 0, 0, 0, 1])
        XCTAssertEqual(batches.map(\.number), [0, 1, 2, 3, 4])
        // The batch content is the source's rows for those indices (input i is the value i).
        XCTAssertEqual(batches[1].batch.inputs, [3, 4, 5])
        XCTAssertEqual(p.batchesPerEpoch, 4)
    }

    func testShuffleIsASeededPermutationPerEpochWhateverTheWorkerCount() throws {
        let one = try take(pipeline(samples: 20, PipelineConfig(batchSize: 4, workers: 1), seed: 9), 15).map(\.indices)
        let three = try take(pipeline(samples: 20, PipelineConfig(batchSize: 4, prefetch: 2, workers: 3), seed: 9), 15).map(
            \.indices)
        XCTAssertEqual(one, three, "order must not depend on the worker count")
        let other = try take(pipeline(samples: 20, PipelineConfig(batchSize: 4), seed: 10), 15).map(\.indices)
        XCTAssertNotEqual(one, other, "a different seed gives a different order")
        for epoch in 0..<3 {
            let samples = one[(epoch * 5)..<(epoch * 5 + 5)].flatMap { $0 }
            XCTAssertEqual(samples.sorted(), Array(0..<20), "epoch \(epoch) is a permutation")
        }
        XCTAssertNotEqual(one[0..<5].flatMap { $0 }, one[5..<10].flatMap { $0 }, "each epoch reshuffles")
        XCTAssertNotEqual(one[0..<5].flatMap { $0 }, Array(0..<20), "shuffled")
    }

    func testFixedDelayShowsUpInDataWait() throws {
        // Prefetch 1 and no compute: every batch's 20 ms load is waited for almost entirely. Assert at
        // least 90% of the injected delay per batch on average (a sleep never ends early; the 10% covers
        // the few microseconds between the loader starting and next() being called).
        let delay = 0.02
        let slow = try take(pipeline(PipelineConfig(batchSize: 2, prefetch: 1, faults: FaultInjection(delaySeconds: delay))), 8)
        let slowMean = slow.map(\.waitSeconds).reduce(0, +) / 8
        XCTAssertGreaterThanOrEqual(slowMean, 0.9 * delay)
        XCTAssertTrue(slow.allSatisfy { $0.loadSeconds >= delay }, "each load took at least the delay")
        let fast = try take(pipeline(PipelineConfig(batchSize: 2, prefetch: 1)), 8)
        let fastMean = fast.map(\.waitSeconds).reduce(0, +) / 8
        XCTAssertLessThan(fastMean, 0.5 * delay, "without the fault the wait is far below the delay")
    }

    func testPeriodicStallsHitEveryNthBatch() throws {
        let f = FaultInjection(stallEvery: 3, stallSeconds: 0.06)
        let batches = try take(pipeline(PipelineConfig(batchSize: 2, prefetch: 1, faults: f)), 6)
        for b in batches where (b.number + 1) % 3 == 0 {
            XCTAssertGreaterThanOrEqual(b.waitSeconds, 0.9 * 0.06, "batch \(b.number) stalls")
            XCTAssertGreaterThanOrEqual(b.loadSeconds, 0.06)
        }
        for b in batches where (b.number + 1) % 3 != 0 { XCTAssertLessThan(b.loadSeconds, 0.06, "batch \(b.number)") }
    }

    func testRandomDelayIsSeededAndBounded() throws {
        let f = FaultInjection(randomDelaySeconds: 0.005...0.02)
        let config = PipelineConfig(batchSize: 2, prefetch: 1, faults: f)
        let plan = BatchPlan(config: config, sampleCount: 10, batchesPerEpoch: 5, seed: 3, classCount: nil)
        let delays = (0..<50).map(plan.delay)
        XCTAssertTrue(delays.allSatisfy { (0.005..<0.02).contains($0) })
        XCTAssertEqual(
            delays, (0..<50).map(BatchPlan(config: config, sampleCount: 10, batchesPerEpoch: 5, seed: 3, classCount: nil).delay))
        XCTAssertGreaterThan(Set(delays).count, 45, "delays vary per batch")
        let batches = try take(pipeline(config, seed: 3), 4)
        for b in batches { XCTAssertGreaterThanOrEqual(b.loadSeconds, delays[b.number], "batch \(b.number)") }
    }

    func testRepeatedBatchHasIdenticalFingerprints() throws {
        let batches = try take(pipeline(PipelineConfig(batchSize: 3, faults: FaultInjection(repeatBatch: true))), 7)
        XCTAssertEqual(Set(batches.map(\.fingerprint)).count, 1)
        XCTAssertEqual(batches[0].fingerprint, fingerprint(of: batches[0].indices))
        XCTAssertEqual(batches.map(\.epoch), [0, 0, 0, 0, 1, 1, 1], "epochs still advance")
        let normal = try take(pipeline(PipelineConfig(batchSize: 3)), 3)
        XCTAssertEqual(Set(normal.map(\.fingerprint)).count, 3, "distinct batches, distinct fingerprints")
    }

    func testFingerprintIsFNV1aOfTheIndices() {
        // FNV-1a 64 of zero bytes is the offset basis; of one Int 0 (eight zero bytes) it is fixed.
        XCTAssertEqual(fingerprint(of: []), "cbf29ce484222325")
        XCTAssertNotEqual(fingerprint(of: [1, 2]), fingerprint(of: [2, 1]), "order matters")
        XCTAssertEqual(fingerprint(of: [1, 2]).count, 16)
    }

    func testCorruptedLabelFractionIsWithinBounds() throws {
        // 2000 labels, each replaced with probability 0.3 by a uniform class among 10, so it actually
        // changes with probability 0.3 · 0.9 = 0.27; binomial sd = √(0.27·0.73/2000) ≈ 0.0099, allow 4 sd.
        let source = labelledSource(samples: 2000, classes: 10)
        let p = try DataPipeline(
            source: source,
            config: PipelineConfig(
                batchSize: 100, shuffle: false,
                faults: FaultInjection(corruptLabels: 0.3)), seed: 5)
        var changed = 0
        for b in try take(p, 20) {
            guard case .classes(let labels) = b.batch.targets else { return XCTFail("class targets expected") }
            for (i, l) in zip(b.indices, labels) where Int(l) != i % 10 { changed += 1 }
            XCTAssertEqual(b.labelHistogram?.reduce(0, +), 100, "histogram counts every label")
            XCTAssertEqual(b.labelHistogram?.count, 10)
            XCTAssertTrue(labels.allSatisfy { (0..<10).contains($0) })
        }
        XCTAssertEqual(Double(changed) / 2000, 0.27, accuracy: 0.04)
        let clean = try take(pipeline(samples: 20, PipelineConfig(batchSize: 20, shuffle: false)), 1)[0]
        XCTAssertEqual(clean.labelHistogram, [Int](repeating: 2, count: 10))
    }

    func testDyingWorkerProducesAStickyError() throws {
        let p = try pipeline(PipelineConfig(batchSize: 2, workers: 2, faults: FaultInjection(workerDiesAfter: 3)))
        XCTAssertEqual(try take(p, 3).map(\.number), [0, 1, 2])
        for _ in 0..<2 {
            XCTAssertThrowsError(try p.next()) { error in
                XCTAssertEqual(error as? PipelineError, .workerDied(after: 3))
                XCTAssertEqual("\(error)", "data loader worker died after 3 batch(es); no more batches will arrive")
            }
        }
    }

    func testSourceErrorEndsThePipeline() throws {
        struct Broken: BatchSource {
            struct Failure: Error, CustomStringConvertible { var description: String { "disk read failed" } }
            var sampleCount: Int { 10 }
            func batch(indices: [Int]) throws -> Batch<Double> { throw Failure() }
        }
        let p = try DataPipeline(source: Broken(), config: PipelineConfig(batchSize: 5), seed: 0)
        XCTAssertThrowsError(try p.next()) {
            XCTAssertEqual($0 as? PipelineError, .sourceFailed(batch: 0, message: "disk read failed"))
        }
    }

    func testCancelWakesABlockedConsumer() throws {
        let p = try pipeline(PipelineConfig(batchSize: 2, faults: FaultInjection(delaySeconds: 30)))
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.05) { p.cancel() }
        let start = Date()
        XCTAssertThrowsError(try p.next()) { XCTAssertEqual($0 as? PipelineError, .cancelled) }
        XCTAssertLessThan(Date().timeIntervalSince(start), 5, "cancel must not wait for the 30 s delay")
    }

    func testEmptyDataSetIsRejected() {
        XCTAssertThrowsError(try pipeline(PipelineConfig(batchSize: 20, dropLast: true))) {
            XCTAssertEqual($0 as? PipelineError, .empty(samples: 10, batchSize: 20))
        }
    }

    func testDecodingFaultsFromJSON() throws {
        let json = try JSON.parse(
            #"""
            {"batchSize":16,"shuffle":false,"prefetch":2,"workers":2,"faults":{"delayMs":20,"randomDelayMs":[5,10],
             "stallEvery":100,"stallMs":2000,"repeatBatch":true,"corruptLabels":0.25,"workerDiesAfter":50}}
            """#)
        let c = try PipelineConfig(from: JSONReader(json))
        XCTAssertEqual(
            c,
            PipelineConfig(
                batchSize: 16, shuffle: false, prefetch: 2, workers: 2,
                faults: FaultInjection(
                    delaySeconds: 0.02, randomDelaySeconds: 0.005...0.01, stallEvery: 100, stallSeconds: 2, repeatBatch: true,
                    corruptLabels: 0.25, workerDiesAfter: 50)))
        XCTAssertEqual(try PipelineConfig(from: JSONReader(c.json)), c)
        XCTAssertThrowsError(
            try PipelineConfig(from: JSONReader(["batchSize": 4, "faults": ["corruptLabels": 1.5]], path: "params.data"))
        ) {
            XCTAssertEqual("\($0)", "`params.data.faults.corruptLabels` must be at most 1.0, got 1.5")
        }
        XCTAssertThrowsError(try PipelineConfig(from: JSONReader(["batchSize": 4, "faults": ["stallEvery": 3]], path: "p"))) {
            XCTAssertEqual("\($0)", "`p.faults.stallMs` is required with stallEvery")
        }
    }
}
