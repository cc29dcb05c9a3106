import SaddleMath
import XCTest

@testable import SaddleCurvature

final class HutchinsonTests: XCTestCase {
    /// The estimate lies within 3 standard errors of the exact trace (a 99.7% interval for a mean of
    /// 200 probes, so a failure is a bug, not bad luck — the seeds are fixed anyway).
    func testEstimateWithinThreeStandardErrorsOfTheExactTrace() throws {
        for (n, seed) in [(30, 1), (120, 2)] as [(Int, UInt64)] {
            let matrix = TestMatrices.randomSymmetric(n, seed: seed + 100)
            let exact = (0..<n).reduce(0.0) { $0 + matrix[$1 * n + $1] }
            let r = try Hutchinson.trace(try DenseOperator(matrix: matrix, dimension: n), options: .init(probes: 200, seed: seed))
            XCTAssertEqual(r.probes, 200)
            XCTAssertEqual(r.products, 200)
            XCTAssertFalse(r.stoppedEarly)
            XCTAssertGreaterThan(r.standardError, 0)
            XCTAssertLessThanOrEqual(abs(r.estimate - exact), 3 * r.standardError, "estimate \(r.estimate), exact \(exact)")
            // standardError is the sample standard deviation over √p.
            let mean = r.samples.reduce(0, +) / 200
            let sd = (r.samples.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 199).squareRoot()
            XCTAssertEqual(r.standardError, sd / 200.0.squareRoot(), accuracy: 1e-12 * sd)
        }
    }

    /// A diagonal matrix: every Rademacher probe gives zᵀDz = tr(D) exactly, so the spread is 0.
    func testDiagonalOperatorIsExactWithZeroSpread() throws {
        var m = [Double](repeating: 0, count: 16)
        for i in 0..<4 { m[i * 5] = Double(i) - 0.5 }
        let r = try Hutchinson.trace(try DenseOperator(matrix: m, dimension: 4), options: .init(probes: 5))
        XCTAssertEqual(r.estimate, 4, accuracy: 1e-14)  // −0.5 + 0.5 + 1.5 + 2.5
        XCTAssertEqual(r.standardError, 0, accuracy: 1e-14)
    }

    /// With a target relative standard error the run stops as soon as it is met, after the minimum.
    func testStopsEarlyAtTheTargetRelativeStandardError() throws {
        var spectrum = (0..<80).map { 1 + Double($0) / 80 }
        spectrum[0] = 3
        let op = try DenseOperator(matrix: try TestMatrices.withSpectrum(spectrum, seed: 4), dimension: 80)
        let r = try Hutchinson.trace(op, options: .init(probes: 1000, targetRelativeStandardError: 0.01, minimumProbes: 10))
        XCTAssertTrue(r.stoppedEarly)
        XCTAssertLessThan(r.probes, 1000)
        XCTAssertGreaterThanOrEqual(r.probes, 10)
        XCTAssertLessThanOrEqual(r.standardError, 0.01 * abs(r.estimate))
        let previous = Array(r.samples.dropLast())
        let (pm, pse) = Hutchinson.meanAndStandardError(previous)
        XCTAssertTrue(previous.count < 10 || pse > 0.01 * abs(pm), "it did not run past the first point that met the target")
        XCTAssertEqual(r.estimate, spectrum.reduce(0, +), accuracy: 3 * r.standardError)
    }

    func testRejectsFewerThanTwoProbes() throws {
        let op = try DenseOperator(matrix: [1], dimension: 1)
        XCTAssertThrowsError(try Hutchinson.trace(op, options: .init(probes: 1))) {
            XCTAssertTrue("\($0)".contains("at least 2"))
        }
    }
}
