import SaddleJSON
import XCTest

@testable import SaddleTraining

final class IngestValidatorTests: XCTestCase {
    private func validate(_ text: String) throws -> [StepEvent] {
        try IngestValidator.validate(JSONReader(try JSON.parse(text), path: "params")["steps"], runId: "ext")
    }

    private func message(_ text: String) -> String {
        do {
            _ = try validate(text)
            return "no error"
        } catch { return "\(error)" }
    }

    func testAcceptsEventsIncludingNonFiniteLoss() throws {
        let events = try validate(#"""
            {"steps":[{"step":0,"loss":2.5,"rank":1,"epoch":0,"gradNorm":3,"lr":0.01,"dataWaitSeconds":0.1,
                       "computeSeconds":0.2,"samplesPerSecond":100,"fingerprint":"ab","labelHistogram":[3,1]},
                      {"step":1,"loss":"NaN","gradNorm":"Infinity"},
                      {"step":2,"loss":"-Infinity"}]}
            """#)
        XCTAssertEqual(events[0], StepEvent(runId: "ext", rank: 1, step: 0, epoch: 0, loss: 2.5, gradNorm: 3, lr: 0.01,
                                            dataWaitSeconds: 0.1, computeSeconds: 0.2, samplesPerSecond: 100,
                                            fingerprint: "ab", labelHistogram: [3, 1]))
        XCTAssertTrue(events[1].loss.isNaN)
        XCTAssertEqual(events[1].gradNorm, .infinity)
        XCTAssertEqual(events[2].loss, -.infinity)
        XCTAssertEqual(events[2].rank, 0)
        XCTAssertNil(events[2].gradNorm)
    }

    func testRejectsMalformedEventsNamingIndexAndField() {
        XCTAssertEqual(message(#"{"steps":[{"step":0,"loss":1},{"step":1,"loss":1},{"step":2,"loss":1},{"step":3,"loss":"x"}]}"#),
                       "`params.steps[3].loss` must be a number, got the string \"x\"")
        XCTAssertEqual(message(#"{"steps":[{"loss":1}]}"#), "`params.steps[0].step` is required: give an integer")
        XCTAssertEqual(message(#"{"steps":[{"step":-1,"loss":1}]}"#), "`params.steps[0].step` must be at least 0, got -1")
        XCTAssertEqual(message(#"{"steps":[{"step":1.5,"loss":1}]}"#), "`params.steps[0].step` must be an integer, got 1.5")
        XCTAssertEqual(message(#"{"steps":[{"step":0,"loss":1,"lr":"NaN"}]}"#),
                       "`params.steps[0].lr` must be a finite number, got the string \"NaN\"")
        XCTAssertEqual(message(#"{"steps":[{"step":0,"loss":1,"labelHistogram":[1,-2]}]}"#),
                       "`params.steps[0].labelHistogram[1]` must be at least 0, got -2")
        XCTAssertEqual(message(#"{"steps":[{"step":0,"loss":1,"los":1}]}"#),
                       "`params.steps[0].los` is not a known field; expected one of: computeSeconds, dataWaitSeconds, epoch, fingerprint, gradNorm, labelHistogram, loss, lr, rank, samplesPerSecond, step")
        XCTAssertEqual(message(#"{"steps":[]}"#), "`params.steps` must have at least 1 element(s), got 0")
        XCTAssertEqual(message(#"{"steps":{"step":0}}"#), "`params.steps` must be an array, got an object")
        XCTAssertEqual(message(#"{"steps":[7]}"#), "`params.steps[0]` must be an object, got 7")
    }

    func testValidatedEventsRoundTripThroughTheStore() throws {
        let store = try RunStore(path: ":memory:")
        try store.createRun(id: "ext", name: "pytorch", kind: .ingested, config: .null)
        let events = try validate(#"{"steps":[{"step":0,"loss":1.5,"rank":2},{"step":1,"loss":"NaN","rank":2}]}"#)
        try store.append(events)
        XCTAssertEqual(try store.steps(runId: "ext", rank: 2), events)
        // The wire form spells the NaN as a string.
        XCTAssertEqual(events[1].json["loss"], "NaN")
    }
}
