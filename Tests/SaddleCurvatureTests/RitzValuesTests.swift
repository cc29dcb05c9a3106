import XCTest
@testable import SaddleCurvature

final class RitzValuesTests: XCTestCase {
    /// T = tridiag(1, 2, 1) of order 3 has eigenvalues 2 − √2, 2, 2 + √2 with eigenvectors
    /// (1/2, ∓√2/2, 1/2) and (1/√2, 0, −1/√2); with β_3 = 0.5 the residuals are 0.5·|last component|.
    func testValuesAndResidualsOfAKnownTridiagonal() throws {
        let ritz = try RitzValues(alphas: [2, 2, 2], betas: [1, 1, 0.5])
        let r2 = 2.0.squareRoot()
        XCTAssertEqual(ritz.values[0], 2 - r2, accuracy: 1e-14)
        XCTAssertEqual(ritz.values[1], 2, accuracy: 1e-14)
        XCTAssertEqual(ritz.values[2], 2 + r2, accuracy: 1e-14)
        XCTAssertEqual(ritz.residuals[0], 0.25, accuracy: 1e-14)
        XCTAssertEqual(ritz.residuals[1], 0.5 / r2, accuracy: 1e-14)
        XCTAssertEqual(ritz.residuals[2], 0.25, accuracy: 1e-14)
        XCTAssertEqual(ritz.scale, 2 + r2, accuracy: 1e-14)
        // 0.25 ≤ tol·(2+√2) needs tol ≥ 0.0732.
        XCTAssertTrue(ritz.converged(largest: 1, smallest: 1, tolerance: 0.074))
        XCTAssertFalse(ritz.converged(largest: 1, smallest: 1, tolerance: 0.073))
        // The middle value's residual (0.354) is larger: k = 2 at the top needs tol ≥ 0.1036.
        XCTAssertFalse(ritz.converged(largest: 2, smallest: 1, tolerance: 0.1))
        XCTAssertEqual(ritz.extremes(largest: 2, smallest: 1).largest, [2, 1])
    }

    func testZeroResidualCouplingIsExact() throws {
        let ritz = try RitzValues(alphas: [3, 1], betas: [0.5, 0])
        XCTAssertEqual(ritz.residuals, [0, 0])
        XCTAssertTrue(ritz.converged(largest: 1, smallest: 1, tolerance: 0))
    }

    func testBetasMustHoldOneCouplingPerStep() {
        XCTAssertThrowsError(try RitzValues(alphas: [1, 2], betas: [0.5])) { error in
            XCTAssertTrue("\(error)".contains("one coupling per step"), "\(error)")
        }
    }
}
