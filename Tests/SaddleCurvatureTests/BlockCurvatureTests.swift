import SaddleMath
import XCTest

@testable import SaddleCurvature

final class BlockCurvatureTests: XCTestCase {
    private let n = 30
    private lazy var matrix = TestMatrices.randomSymmetric(n, seed: 55)

    private func block(_ r: Range<Int>) -> [Double] {
        var b: [Double] = []
        for i in r { for j in r { b.append(matrix[i * n + j]) } }
        return b
    }

    func testRestrictedOperatorAppliesTheDiagonalBlock() throws {
        let op = try DenseOperator(matrix: matrix, dimension: n)
        let restricted = try RestrictedOperator(op, range: 10..<25)
        var rng = SeededRandom(seed: 1)
        let v = (0..<15).map { _ in rng.gaussian() }
        let expected = try DenseOperator(matrix: block(10..<25), dimension: 15).apply(v)
        for (a, b) in zip(try restricted.apply(v), expected) { XCTAssertEqual(a, b, accuracy: 1e-13) }
        XCTAssertThrowsError(try RestrictedOperator(op, range: 25..<31))
    }

    /// Per-block Lanczos against the dense block's eigenvalues (1e-8 × scale, as in LanczosTests) and
    /// per-block Hutchinson within 3 standard errors of the block's trace.
    func testSummaryOverNamedBlocksMatchesDenseBlocks() throws {
        let op = CountingOperator(try DenseOperator(matrix: matrix, dimension: n))
        let blocks = [
            ParameterBlock(name: "0.weight", range: 0..<10), ParameterBlock(name: "0.bias", range: 10..<25),
            ParameterBlock(name: "2.weight", range: 25..<30),
        ]
        let summaries = try BlockCurvature.summarize(
            op, blocks: blocks, eigenOptions: .init(largest: 3, smallest: 3, tolerance: 1e-10, maxIterations: 30),
            traceOptions: .init(probes: 50))
        XCTAssertEqual(summaries.map(\.name), ["0.weight", "0.bias", "2.weight"])
        XCTAssertEqual(summaries.map(\.lowerBound), [0, 10, 25])
        XCTAssertEqual(summaries.map(\.upperBound), [10, 25, 30])
        var products = 0
        for (s, b) in zip(summaries, blocks) {
            let m = b.range.count
            let dense = try SymmetricEigen.dense(block(b.range), n: m, vectors: false).values
            let scale = max(abs(dense[0]), abs(dense[m - 1]))
            for (got, want) in zip(s.eigen.largest, dense.reversed()) { XCTAssertEqual(got, want, accuracy: 1e-8 * scale) }
            for (got, want) in zip(s.eigen.smallest, dense) { XCTAssertEqual(got, want, accuracy: 1e-8 * scale) }
            XCTAssertEqual(s.eigen.largest.count, 3)
            let trace = try XCTUnwrap(s.trace)
            let exact = dense.reduce(0, +)
            XCTAssertLessThanOrEqual(abs(trace.estimate - exact), 3 * trace.standardError + 1e-12)
            products += s.eigen.products + trace.products
        }
        XCTAssertEqual(op.count, products, "one full product per block product")
    }

    func testSingleBlockFunctionsAndBadBlock() throws {
        let op = try DenseOperator(matrix: matrix, dimension: n)
        let r = try BlockCurvature.eigen(
            op, block: .init(name: "w", range: 0..<10), options: .init(largest: 1, smallest: 1, tolerance: 1e-10))
        let dense = try SymmetricEigen.dense(block(0..<10), n: 10, vectors: false).values
        XCTAssertEqual(r.largest[0], dense[9], accuracy: 1e-8 * max(abs(dense[0]), abs(dense[9])))
        let t = try BlockCurvature.trace(op, block: .init(name: "w", range: 0..<10), options: .init(probes: 40))
        XCTAssertEqual(t.probes, 40)
        XCTAssertThrowsError(try BlockCurvature.eigen(op, block: .init(name: "late", range: 20..<40))) {
            XCTAssertTrue("\($0)".contains("block `late`"))
        }
    }

    /// Three subsets with diagonal operators whose top eigenvalues are 2, 3, 7: mean 4, sample
    /// standard deviation √((4 + 1 + 9)/2) = √7.
    func testSubsetUncertaintyReportsMeanSpreadAndSamples() throws {
        let ops = try [2.0, 3, 7].map { top in try DenseOperator(matrix: [top, 0, 0, 1], dimension: 2) }
        let r = try SubsetUncertainty.estimate(operators: ops, samplesPerSubset: [10, 10, 12]) { op, control in
            try Lanczos.eigen(op, options: .init(largest: 1, smallest: 0), control: control).largest[0]
        }
        XCTAssertEqual(r.values[0], 2, accuracy: 1e-12)
        XCTAssertEqual(r.values[1], 3, accuracy: 1e-12)
        XCTAssertEqual(r.values[2], 7, accuracy: 1e-12)
        XCTAssertEqual(r.mean, 4, accuracy: 1e-12)
        XCTAssertEqual(r.standardDeviation, 7.0.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(r.standardError, 7.0.squareRoot() / 3.0.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(r.totalSamples, 32)
        XCTAssertEqual(r.subsets, 3)
        XCTAssertThrowsError(try SubsetUncertainty.estimate(operators: [ops[0]], samplesPerSubset: [1]) { _, _ in 0 })
    }
}
