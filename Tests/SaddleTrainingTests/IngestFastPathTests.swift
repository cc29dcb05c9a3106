import SaddleJSON
import XCTest

@testable import SaddleTraining

/// The validator's fast path must accept exactly what the JSONReader path accepts, with the same event.
final class IngestFastPathTests: XCTestCase {
    /// Values each field is tried with: valid, invalid and edge cases (null = absent, -0, integral reals,
    /// non-finite strings, wrong kinds).
    private static let trials: [String: [JSON]] = [
        "step": [0, 7, -1, 2.0, 2.5, "3", .null],
        "loss": [1.5, 0, -2, "NaN", "Infinity", "-Infinity", "x", .null, [1]],
        "rank": [0, 3, 1_048_576, 1_048_577, -1, 1.0, .null],
        "epoch": [0, 4, -1, 1.5, .null],
        "gradNorm": [0.5, "NaN", "Infinity", -1, .null, true],
        "lr": [0.1, -0.1, "NaN", .null, "0.1"],
        "dataWaitSeconds": [0, 0.25, -0.0, -1, "Infinity", .null],
        "computeSeconds": [0.01, -0.5, "NaN", .null],
        "samplesPerSecond": [100, -1, .null, false],
        "allreduceSeconds": [0, 0.002, -0.001, "Infinity", .null, "1"],
        "worldSize": [1, 4, 0, -2, 2.0, 2.5, 1_048_577, 1_048_578, .null],
        "fingerprint": ["ab", "", 7, .null],
        "labelHistogram": [[1, 2], [], [1, -1], [1.0], [1.5], "x", .null],
        "extra": [1, .null],
    ]

    func testFastPathAgreesWithReaderPathOnEveryVariation() {
        var rng = SplitMix64(seed: 20261129)  // seeded: the same cases every run
        var compared = 0, accepted = 0
        let base: [String: JSON] = ["step": 3, "loss": 0.5, "rank": 2, "worldSize": 4]
        // Each field alone on a valid base, then random combinations of several fields.
        var cases: [[String: JSON]] = []
        let keys = Self.trials.keys.sorted()  // Dictionary order changes from process to process
        for key in keys {
            for v in Self.trials[key] ?? [] {
                var o = base
                o[key] = v
                cases.append(o)
            }
        }
        for _ in 0..<3000 {
            var o: [String: JSON] = [:]
            for key in keys where Bool.random(using: &rng) {
                o[key] = Self.trials[key]?.randomElement(using: &rng)
            }
            cases.append(o)
        }
        for o in cases {
            let value = JSON.object(o)
            let fast = IngestValidator.fastEvent(value, runId: "x")
            let checked = try? IngestValidator.checkedEvent(JSONReader(value, path: "e"), runId: "x")
            XCTAssertEqual(fast, checked, "\(o)")
            compared += 1
            if checked != nil { accepted += 1 }
        }
        // Both outcomes were exercised many times.
        XCTAssertGreaterThan(accepted, 50)
        XCTAssertGreaterThan(compared - accepted, 50)
    }
}

/// SplitMix64 (Steele, Lea and Flood 2014), a small seeded generator for reproducible test cases.
private struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
