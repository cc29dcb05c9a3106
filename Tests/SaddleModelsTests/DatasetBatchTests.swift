import SaddleMath
import XCTest
@testable import SaddleModels

/// Batches as the training pipeline builds them: rows gathered by index, converted to the model's
/// precision, and refilled in place. Every comparison is exact: a batch is a copy of rows, rounded to
/// `Float` to nearest exactly as `Float(x)` does, so any difference at all is a defect.
final class DatasetBatchTests: XCTestCase {
    /// 7 samples of width 5 whose values are not representable in `Float` (so rounding is exercised),
    /// with class labels i % 3.
    private func classification() throws -> Dataset {
        let inputs: [Double] = (0..<35).map { (i: Int) -> Double in
            let x = Double(i), wiggle = Double(i % 4)
            return x * 0.1 + 1e-9 * wiggle - 1.7
        }
        return try Dataset(
            name: "c", inputs: inputs, inputWidth: 5,
            targets: .classes((0..<7).map { Int32($0 % 3) }, classCount: 3), provenance: "test")
    }

    private func regression() throws -> Dataset {
        try Dataset(
            name: "r", inputs: (0..<12).map { 1 / Double($0 + 3) }, inputWidth: 3,
            targets: .regression((0..<8).map { Double($0) / 7 }, width: 2), provenance: "test")
    }

    /// The reference: row i of the data set converted value by value.
    private func expectedRows<T: BLASScalar>(_ d: Dataset, _ indices: [Int], as: T.Type) -> [T] {
        indices.flatMap { i in d.inputs[(i * d.inputWidth)..<((i + 1) * d.inputWidth)].map { T($0) } }
    }

    private func labels<T>(_ b: Batch<T>) -> [Int32]? {
        if case .classes(let l) = b.targets { return l }
        return nil
    }

    private func dense<T>(_ b: Batch<T>) -> [T]? {
        if case .dense(let v, _) = b.targets { return v }
        return nil
    }

    func testFloatBatchIsEachRowRoundedToNearestBitForBit() throws {
        let d = try classification()
        let indices = [6, 0, 3, 3, 1]  // shuffled, with a repeat
        let b: Batch<Float> = d.batch(indices: indices)
        XCTAssertEqual(b.rows, 5)
        XCTAssertEqual(b.inputWidth, 5)
        XCTAssertEqual(b.inputs.map(\.bitPattern), expectedRows(d, indices, as: Float.self).map(\.bitPattern))
        XCTAssertEqual(labels(b), [0, 0, 0, 0, 1])
        // A second batch (served from the kept single-precision copy) is the same.
        let again: Batch<Float> = d.batch(indices: indices)
        XCTAssertEqual(again.inputs.map(\.bitPattern), b.inputs.map(\.bitPattern))
    }

    func testDoubleBatchCopiesRowsExactly() throws {
        let d = try regression()
        let b: Batch<Double> = d.batch(indices: [3, 1, 1])
        XCTAssertEqual(b.inputs, expectedRows(d, [3, 1, 1], as: Double.self))
        let sevenths: [Double] = [6, 7, 2, 3, 2, 3].map { (k: Double) -> Double in k / 7 }
        XCTAssertEqual(dense(b), sevenths)
        guard case .dense(_, let width) = b.targets else { return XCTFail("dense targets expected") }
        XCTAssertEqual(width, 2)
    }

    func testFillReusesAndResizesToMatchAFreshBatch() throws {
        for d in [try classification(), try regression()] {
            var reused: Batch<Float> = d.batch(indices: [0, 1, 2])
            for indices in [[2, 0, 1], [1, 1], [3, 0, 2, 1], [0]] {  // same size, smaller, larger
                d.fill(&reused, indices: indices)
                let fresh: Batch<Float> = d.batch(indices: indices)
                XCTAssertEqual(reused.rows, indices.count, "\(d.name) \(indices)")
                XCTAssertEqual(reused.inputs.map(\.bitPattern), fresh.inputs.map(\.bitPattern), "\(d.name) \(indices)")
                XCTAssertEqual(reused.inputs.map(\.bitPattern), expectedRows(d, indices, as: Float.self).map(\.bitPattern))
                XCTAssertEqual(labels(reused), labels(fresh))
                XCTAssertEqual(dense(reused), dense(fresh))
            }
            var double: Batch<Double> = d.batch(indices: [1, 0])
            d.fill(&double, indices: [0, 1])
            XCTAssertEqual(double.inputs, expectedRows(d, [0, 1], as: Double.self))
        }
    }

    func testFillNeverOverwritesABatchHeldElsewhere() throws {
        // The trainer may still hold a batch it handed back: refilling must copy, not write through.
        let d = try classification()
        var batch: Batch<Float> = d.batch(indices: [0, 1])
        let held = batch
        d.fill(&batch, indices: [5, 6])
        XCTAssertEqual(held.inputs.map(\.bitPattern), expectedRows(d, [0, 1], as: Float.self).map(\.bitPattern))
        XCTAssertEqual(labels(held), [0, 1])
        XCTAssertEqual(batch.inputs.map(\.bitPattern), expectedRows(d, [5, 6], as: Float.self).map(\.bitPattern))
        XCTAssertEqual(labels(batch), [2, 0])
    }

    func testSinglePrecisionCopyIsNotPartOfEquality() throws {
        let a = try classification(), b = try classification()
        let _: Batch<Float> = a.batch(indices: [0])  // builds a's copy only
        XCTAssertEqual(a, b)
        var renamed = b
        renamed.name = "other"
        XCTAssertNotEqual(a, renamed)
    }

    func testEmptyIndicesGiveAnEmptyBatch() throws {
        let b: Batch<Float> = try classification().batch(indices: [])
        XCTAssertEqual(b.rows, 0)
        XCTAssertEqual(b.inputs, [])
        XCTAssertEqual(labels(b), [])
    }
}
