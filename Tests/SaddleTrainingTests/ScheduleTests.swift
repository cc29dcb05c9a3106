import SaddleJSON
import XCTest

@testable import SaddleTraining

/// Schedule values at chosen steps, computed by hand from the formulas in ScheduleConfig's docs.
/// Tolerance 1e-15: a handful of float64 operations on O(1) values.
final class ScheduleTests: XCTestCase {
    func testConstantAndWarmup() {
        let s = ScheduleConfig(.constant, warmup: 4)
        XCTAssertEqual([0, 1, 3, 4, 100].map { s.learningRate(base: 0.2, step: $0) }, [0.05, 0.1, 0.2, 0.2, 0.2])
    }

    func testStepDecay() {
        let s = ScheduleConfig(.step(stepSize: 3, gamma: 0.5))
        XCTAssertEqual([0, 2, 3, 5, 6, 9].map { s.learningRate(base: 1, step: $0) }, [1, 1, 0.5, 0.5, 0.25, 0.125])
    }

    func testCosineWithWarmupToFloor() {
        let s = ScheduleConfig(.cosine(steps: 10, minLr: 0.01), warmup: 5)
        let expected: [(Int, Double)] = [(0, 0.02), (4, 0.1), (5, 0.1), (10, 0.055), (15, 0.01), (100, 0.01)]
        for (t, lr) in expected { XCTAssertEqual(s.learningRate(base: 0.1, step: t), lr, accuracy: 1e-15, "t=\(t)") }
    }

    func testWarmRestartsSGDR() {
        // T0 = 4, Tmult = 2: cycles [0,4), [4,12), [12,28).
        let s = ScheduleConfig(.warmRestarts(period: 4, periodMultiplier: 2, minLr: 0))
        let expected: [(Int, Double)] = [(0, 1), (2, 0.5), (4, 1), (6, 0.8535533905932737), (8, 0.5), (12, 1), (20, 0.5)]
        for (t, lr) in expected { XCTAssertEqual(s.learningRate(base: 1, step: t), lr, accuracy: 1e-15, "t=\(t)") }
    }

    func testDecoding() throws {
        let s = try ScheduleConfig(
            from: JSONReader(["kind": "warmRestarts", "period": 5, "periodMultiplier": 2, "minLr": 0.001, "warmup": 3]))
        XCTAssertEqual(s, ScheduleConfig(.warmRestarts(period: 5, periodMultiplier: 2, minLr: 0.001), warmup: 3))
        XCTAssertEqual(try ScheduleConfig(from: JSONReader(s.json)), s)
        XCTAssertThrowsError(try ScheduleConfig(from: JSONReader(["kind": "step", "stepSize": 0], path: "s"))) {
            XCTAssertEqual("\($0)", "`s.stepSize` must be a positive integer, got 0")
        }
    }
}
