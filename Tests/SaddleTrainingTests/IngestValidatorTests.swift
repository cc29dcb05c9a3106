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
        let events = try validate(
            #"""
            {"steps":[{"step":0,"loss":2.5,"rank":1,"epoch":0,"gradNorm":3,"lr":0.01,"dataWaitSeconds":0.1,
                       "computeSeconds":0.2,"samplesPerSecond":100,"fingerprint":"ab","labelHistogram":[3,1]},
                      {"step":1,"loss":"NaN","gradNorm":"Infinity"},
                      {"step":2,"loss":"-Infinity"}]}
            """#)
        XCTAssertEqual(
            events[0],
            StepEvent(
                runId: "ext", rank: 1, step: 0, epoch: 0, loss: 2.5, gradNorm: 3, lr: 0.01,
                dataWaitSeconds: 0.1, computeSeconds: 0.2, samplesPerSecond: 100,
                fingerprint: "ab", labelHistogram: [3, 1]))
        XCTAssertTrue(events[1].loss.isNaN)
        XCTAssertEqual(events[1].gradNorm, .infinity)
        XCTAssertEqual(events[2].loss, -.infinity)
        XCTAssertEqual(events[2].rank, 0)
        XCTAssertNil(events[2].gradNorm)
    }

    func testRejectsMalformedEventsNamingIndexAndField() {
        XCTAssertEqual(
            message(#"{"steps":[{"step":0,"loss":1},{"step":1,"loss":1},{"step":2,"loss":1},{"step":3,"loss":"x"}]}"#),
            "`params.steps[3].loss` must be a number, got the string \"x\"")
        XCTAssertEqual(message(#"{"steps":[{"loss":1}]}"#), "`params.steps[0].step` is required: give an integer")
        XCTAssertEqual(message(#"{"steps":[{"step":-1,"loss":1}]}"#), "`params.steps[0].step` must be at least 0, got -1")
        XCTAssertEqual(message(#"{"steps":[{"step":1.5,"loss":1}]}"#), "`params.steps[0].step` must be an integer, got 1.5")
        XCTAssertEqual(
            message(#"{"steps":[{"step":0,"loss":1,"lr":"NaN"}]}"#),
            "`params.steps[0].lr` must be a finite number, got the string \"NaN\"")
        XCTAssertEqual(
            message(#"{"steps":[{"step":0,"loss":1,"labelHistogram":[1,-2]}]}"#),
            "`params.steps[0].labelHistogram[1]` must be at least 0, got -2")
        XCTAssertEqual(
            message(#"{"steps":[{"step":0,"loss":1,"los":1}]}"#),
            "`params.steps[0].los` is not a known field; expected one of: allreduceSeconds, computeSeconds, dataWaitSeconds, epoch, fingerprint, gradNorm, labelHistogram, loss, lr, rank, samplesPerSecond, step, worldSize"
        )
        XCTAssertEqual(message(#"{"steps":{"step":0}}"#), "`params.steps` must be an array, got an object")
        XCTAssertEqual(message(#"{"steps":[7]}"#), "`params.steps[0]` must be an object, got 7")
    }

    func testAcceptsAnEmptyArray() throws {
        // Rank 0 of a distributed run creates the run before any rank has a step.
        XCTAssertEqual(try validate(#"{"steps":[]}"#), [])
        XCTAssertEqual(message(#"{}"#), "`params.steps` is required: give an array")
    }

    func testAcceptsDistributedFields() throws {
        let events = try validate(
            #"""
            {"steps":[{"step":4,"loss":1.25,"rank":3,"worldSize":4,"allreduceSeconds":0.0125},
                      {"step":4,"loss":1.5,"rank":0,"worldSize":1,"allreduceSeconds":0},
                      {"step":5,"loss":1.5}]}
            """#)
        XCTAssertEqual(
            events[0],
            StepEvent(
                runId: "ext", rank: 3, step: 4, loss: 1.25, allreduceSeconds: 0.0125,
                worldSize: 4))
        XCTAssertEqual(events[1].worldSize, 1)
        XCTAssertEqual(events[1].allreduceSeconds, 0)
        XCTAssertNil(events[2].worldSize)
        XCTAssertNil(events[2].allreduceSeconds)
        // The wire form carries both fields, and omits them when absent.
        XCTAssertEqual(events[0].json["allreduceSeconds"], .double(0.0125))
        XCTAssertEqual(events[0].json["worldSize"], .int(4))
        XCTAssertNil(events[2].json["worldSize"])
        // Equality sees the new fields.
        var other = events[0]
        other.worldSize = 8
        XCTAssertNotEqual(other, events[0])
        other = events[0]
        other.allreduceSeconds = 0.5
        XCTAssertNotEqual(other, events[0])
    }

    func testRejectsBadDistributedFieldsNamingIndexAndField() {
        XCTAssertEqual(
            message(#"{"steps":[{"step":0,"loss":1},{"step":0,"loss":1,"rank":4,"worldSize":4}]}"#),
            "`params.steps[1].rank` must be less than `worldSize` (4): ranks count from 0, got 4")
        XCTAssertEqual(
            message(#"{"steps":[{"step":0,"loss":1,"rank":1,"worldSize":1}]}"#),
            "`params.steps[0].rank` must be less than `worldSize` (1): ranks count from 0, got 1")
        // rank defaults to 0, which any worldSize ≥ 1 admits; worldSize 0 is refused as such.
        XCTAssertEqual(
            message(#"{"steps":[{"step":0,"loss":1,"worldSize":0}]}"#),
            "`params.steps[0].worldSize` must be a positive integer, got 0")
        XCTAssertEqual(
            message(#"{"steps":[{"step":0,"loss":1,"worldSize":2.5}]}"#),
            "`params.steps[0].worldSize` must be an integer, got 2.5")
        XCTAssertEqual(
            message(#"{"steps":[{"step":0,"loss":1,"allreduceSeconds":-0.1}]}"#),
            "`params.steps[0].allreduceSeconds` must be at least 0.0, got -0.1")
        XCTAssertEqual(
            message(#"{"steps":[{"step":0,"loss":1,"allreduceSeconds":"NaN"}]}"#),
            "`params.steps[0].allreduceSeconds` must be a finite number, got the string \"NaN\"")
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
