import SaddleMath
import XCTest

@testable import SaddleCurvature

final class LossLandscapeTests: XCTestCase {
    /// A non-quadratic loss so that any mix-up of α, β or the directions changes the values.
    private static func loss(_ p: [Double]) -> Double {
        p.enumerated().reduce(0) { $0 + Double($1.offset + 1) * $1.element * $1.element + 0.3 * sin(3 * $1.element) }
    }

    func testOneDimensionalGridEqualsDirectEvaluations() throws {
        let theta = [0.5, -1, 2, 0.25]
        let d = [1.0, 0, -0.5, 2]
        let axis = LossLandscape.Axis(lower: -1, upper: 1, points: 9)
        let slice = try LossLandscape.slice1D(loss: Self.loss, theta: theta, direction: d, axis: axis)
        XCTAssertEqual(slice.alphas, [-1, -0.75, -0.5, -0.25, 0, 0.25, 0.5, 0.75, 1])
        XCTAssertEqual(slice.centerLoss, Self.loss(theta))
        for (a, l) in zip(slice.alphas, slice.losses) {
            let p = zip(theta, d).map { $0 + a * $1 }
            XCTAssertEqual(l, Self.loss(p), accuracy: 1e-13)
        }
    }

    func testTwoDimensionalGridEqualsDirectEvaluations() throws {
        let theta = [0.5, -1, 2]
        let d1 = [1.0, 0, -0.5], d2 = [0.0, 1, 1]
        let slice = try LossLandscape.slice2D(
            loss: Self.loss, theta: theta, directions: (d1, d2), xAxis: .init(lower: -1, upper: 1, points: 5),
            yAxis: .init(lower: 0, upper: 2, points: 3))
        XCTAssertEqual(slice.losses.count, 5)
        XCTAssertEqual(slice.betas, [0, 1, 2])
        for (i, a) in slice.alphas.enumerated() {
            XCTAssertEqual(slice.losses[i].count, 3)
            for (j, b) in slice.betas.enumerated() {
                let p = (0..<3).map { theta[$0] + a * d1[$0] + b * d2[$0] }
                XCTAssertEqual(slice.losses[i][j], Self.loss(p), accuracy: 1e-13)
            }
        }
    }

    /// Along a unit eigenvector v of A (from Lanczos) the quadratic ½θᵀAθ at θ = 0 is ½λα².
    func testEigenDirectionOfAQuadraticGivesAParabola() throws {
        let n = 12
        let matrix = TestMatrices.randomSymmetric(n, seed: 2)
        let op = try DenseOperator(matrix: matrix, dimension: n)
        let eig = try Lanczos.eigen(
            op, options: .init(largest: 1, smallest: 1, tolerance: 1e-12, maxIterations: n, computeVectors: true))
        let v = eig.smallestVectors[0], lambda = eig.smallest[0]
        let quadratic: ([Double]) throws -> Double = { p in 0.5 * Vector.dot(p, try op.apply(p)) }
        let slice = try LossLandscape.slice1D(
            loss: quadratic, theta: [Double](repeating: 0, count: n), direction: v, axis: .init(lower: -2, upper: 2, points: 7))
        for (a, l) in zip(slice.alphas, slice.losses) { XCTAssertEqual(l, 0.5 * lambda * a * a, accuracy: 1e-10 * abs(lambda)) }
        XCTAssertLessThan(lambda, 0, "a negative-curvature direction lowers the loss")
    }

    /// Each filter of the direction has θ's filter norm; biases (outside every filter) are zero.
    func testFilterNormalizationMatchesEachFilterNorm() throws {
        // A 3×4 weight matrix at 0, a bias of 3 at 12, a 2×3 weight matrix at 15, a bias of 2 at 21.
        var rng = SeededRandom(seed: 9)
        let theta = (0..<23).map { _ in 2 * rng.gaussian() }
        let filters =
            LossLandscape.rowFilters(offset: 0, rows: 3, columns: 4) + LossLandscape.rowFilters(offset: 15, rows: 2, columns: 3)
        XCTAssertEqual(filters, [0..<4, 4..<8, 8..<12, 15..<18, 18..<21])
        let d = try LossLandscape.filterNormalizedDirection(theta: theta, filters: filters, seed: 4)
        for r in filters {
            XCTAssertEqual(Vector.norm(Array(d[r])), Vector.norm(Array(theta[r])), accuracy: 1e-12)
            XCTAssertNotEqual(Array(d[r]), Array(theta[r]), "random, not θ itself")
        }
        for i in [12, 13, 14, 21, 22] { XCTAssertEqual(d[i], 0, "bias entry \(i) is zeroed") }
        XCTAssertEqual(d, try LossLandscape.filterNormalizedDirection(theta: theta, filters: filters, seed: 4), "seeded")
    }

    func testBadInputGetsClearErrors() {
        XCTAssertThrowsError(try LossLandscape.filterNormalizedDirection(theta: [1, 2, 3], filters: [0..<2, 1..<3], seed: 0)) {
            XCTAssertTrue("\($0)".contains("overlap"))
        }
        XCTAssertThrowsError(
            try LossLandscape.slice1D(
                loss: { _ in 0 }, theta: [1, 2], direction: [1], axis: .init(lower: 0, upper: 1, points: 3))
        ) {
            XCTAssertTrue("\($0)".contains("direction 1 has 1 entries"))
        }
        XCTAssertThrowsError(
            try LossLandscape.slice1D(loss: { _ in 0 }, theta: [1], direction: [1], axis: .init(lower: 1, upper: 0, points: 3)))
    }

    func testCancellationBetweenEvaluations() {
        let flag = CancelFlag()
        var calls = 0
        let control = CurvatureControl(checkCancelled: { if flag.isRaised { throw Cancelled() } })
        XCTAssertThrowsError(
            try LossLandscape.slice1D(
                loss: { _ in
                    calls += 1; if calls == 4 { flag.raise() }; return 0
                }, theta: [0], direction: [1],
                axis: .init(lower: 0, upper: 1, points: 50), control: control)
        ) { XCTAssertTrue($0 is Cancelled) }
        XCTAssertEqual(calls, 4)
    }
}
