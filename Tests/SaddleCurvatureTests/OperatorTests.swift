import SaddleMath
import XCTest

@testable import SaddleCurvature

final class OperatorTests: XCTestCase {
    /// A − σI has A's eigenvalues minus σ (checked through Lanczos at 1e-10 × scale).
    func testShiftedOperatorShiftsTheSpectrum() throws {
        let op = try DenseOperator(matrix: try TestMatrices.withSpectrum([-1, 0.5, 2, 4], seed: 3), dimension: 4)
        let r = try Lanczos.eigen(ShiftedOperator(op, shift: 4), options: .init(largest: 4, smallest: 0, tolerance: 1e-12))
        for (got, want) in zip(r.largest, [0.0, -2, -3.5, -5]) { XCTAssertEqual(got, want, accuracy: 1e-10 * 5) }
    }

    func testCountingOperatorCountsAndResets() throws {
        let c = CountingOperator(try DenseOperator(matrix: [2, 0, 0, 3], dimension: 2))
        XCTAssertEqual(try c.apply([1, 1]), [2, 3])
        _ = try c.apply([0, 1])
        XCTAssertEqual(c.count, 2)
        c.reset()
        XCTAssertEqual(c.count, 0)
        XCTAssertThrowsError(try c.apply([1])) { XCTAssertEqual($0 as? CurvatureError, .dimensionMismatch(expected: 2, got: 1)) }
    }

    func testDenseOperatorRejectsBadMatrices() {
        XCTAssertThrowsError(try DenseOperator(matrix: [1, 2, 3], dimension: 2)) {
            XCTAssertTrue("\($0)".contains("needs 4 values"))
        }
        XCTAssertThrowsError(try DenseOperator(matrix: [1, .nan, .nan, 1], dimension: 2)) {
            XCTAssertTrue("\($0)".contains("finite"))
        }
    }

    /// An operator that returns the wrong length is an error, not a crash.
    func testWrongLengthProductIsAnError() {
        struct Short: SymmetricOperator {
            let dimension = 3
            func apply(_ v: [Double]) throws -> [Double] { [1, 2] }
        }
        XCTAssertThrowsError(try Lanczos.eigen(Short())) {
            XCTAssertEqual($0 as? CurvatureError, .dimensionMismatch(expected: 3, got: 2))
        }
        XCTAssertThrowsError(try Hutchinson.trace(Short()))
        XCTAssertThrowsError(try SpectralDensity.estimate(Short()))
    }

    /// Progress fractions rise to at most 1 and come with a message; one report per product.
    func testProgressIsReportedPerProduct() throws {
        final class Log: @unchecked Sendable {
            let lock = NSLock()
            var entries: [(Double, String)] = []
        }
        let log = Log()
        let control = CurvatureControl(progress: { f, m in
            log.lock.lock(); log.entries.append((f, m)); log.lock.unlock()
        })
        let op = try DenseOperator(matrix: TestMatrices.randomSymmetric(20, seed: 1), dimension: 20)
        let r = try Lanczos.eigen(op, options: .init(tolerance: 0, maxIterations: 12), control: control)
        XCTAssertEqual(log.entries.count, r.products)
        XCTAssertEqual(log.entries.last?.0 ?? 0, 1, accuracy: 1e-15)
        XCTAssertEqual(log.entries.map(\.0), log.entries.map(\.0).sorted())
        XCTAssertTrue(log.entries.allSatisfy { $0.1.contains("Lanczos") })
    }
}
