import SaddleModels
import XCTest

@testable import SaddleTraining

/// Batches handed back with ``DataPipeline/recycle(_:)`` are refilled by the loaders: the sequence of
/// batches must be exactly the one a pipeline without recycling serves (same seed), and a batch the
/// consumer still holds must never change. Exact comparisons: refilling copies the same rows.
final class DataPipelineRecycleTests: XCTestCase {
    /// 11 samples of width 3 (input row i is 3i, 3i+1, 3i+2), labels i % 4; batches of 4 leave a last batch of 3.
    private func source() -> InMemorySource<Float> {
        InMemorySource(
            inputs: (0..<33).map(Float.init), inputWidth: 3, targets: .classes((0..<11).map { Int32($0 % 4) }),
            classCount: 4)
    }

    private func labels(_ b: Batch<Float>) -> [Int32] {
        if case .classes(let l) = b.targets { return l }
        return []
    }

    func testRecycledBatchesMatchFreshOnesAcrossEpochsAndSizes() throws {
        let config = PipelineConfig(batchSize: 4, prefetch: 2)
        let plain = try DataPipeline(source: source(), config: config, seed: 5)
        let recycling = try DataPipeline(source: source(), config: config, seed: 5)
        for k in 0..<12 {  // four epochs of three batches (4, 4, 3 rows)
            let expected = try plain.next()
            let got = try recycling.next()
            XCTAssertEqual(got.indices, expected.indices, "batch \(k)")
            XCTAssertEqual(got.batch.rows, expected.batch.rows, "batch \(k)")
            XCTAssertEqual(got.batch.inputs, expected.batch.inputs, "batch \(k)")
            XCTAssertEqual(labels(got.batch), labels(expected.batch), "batch \(k)")
            XCTAssertEqual(got.batch.inputs, got.indices.flatMap { i in (0..<3).map { Float(3 * i + $0) } }, "batch \(k) rows")
            XCTAssertEqual(got.labelHistogram, expected.labelHistogram, "batch \(k)")
            recycling.recycle(got.batch)
        }
    }

    func testABatchStillHeldIsNeverOverwritten() throws {
        let p = try DataPipeline(source: source(), config: PipelineConfig(batchSize: 4, prefetch: 1), seed: 2)
        let first = try p.next()
        let snapshot = first.batch.inputs
        p.recycle(first.batch)  // handed back while `first` still holds the same arrays
        for _ in 0..<6 { p.recycle(try p.next().batch) }
        XCTAssertEqual(first.batch.inputs, snapshot)
        XCTAssertEqual(first.batch.inputs, first.indices.flatMap { i in (0..<3).map { Float(3 * i + $0) } })
    }

    func testInMemorySourceFillEqualsBatch() throws {
        let s = source()
        var reused = try s.batch(indices: [0, 1, 2])
        for indices in [[10, 0, 5], [1, 2], [3, 3, 4, 9]] {
            try s.fill(&reused, indices: indices)
            let fresh = try s.batch(indices: indices)
            XCTAssertEqual(reused.inputs, fresh.inputs, "\(indices)")
            XCTAssertEqual(reused.rows, indices.count)
            XCTAssertEqual(labels(reused), labels(fresh), "\(indices)")
        }
    }
}
