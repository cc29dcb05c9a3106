import Foundation
import XCTest
@testable import SaddleJSON
@testable import SaddleRPC
@testable import SaddleServer

/// `run/pause` with `atStep`: the run pauses right after completing that step. Each test first pauses the
/// run with a plain `run/pause` (wherever it lands, step p) and sets the stop point while it is paused, so the
/// outcome does not depend on how fast the run trains.
final class RunPauseAtStepTests: XCTestCase {
    private let xorSpec = ServerHarness.xorSpec

    /// A harness with an XOR data set "d1" and `models` models of the same spec (so the same initial weights).
    private func harness(models: Int = 1) throws -> ServerHarness {
        let h = ServerHarness()
        try h.call("dataset/generate", ["kind": "xor", "samples": 64, "noise": 0.05, "seed": 1])
        for _ in 0..<models { try h.call("model/create", ["spec": xorSpec]) }
        return h
    }

    private func start(_ h: ServerHarness, model: String = "m1", steps: Int) throws -> String {
        let status = try h.call(
            "run/start",
            [
                "model": .string(model), "dataset": "d1", "optimizer": ["kind": "adam", "lr": 0.05],
                "pipeline": ["batchSize": 16], "steps": .int(steps), "seed": 7,
                "events": ["rate": 100],
            ])
        return try XCTUnwrap(status["run"]?.stringValue)
    }

    /// Starts a run and pauses it at once (plain `run/pause`); returns its id and the step it paused at.
    private func startPaused(_ h: ServerHarness, steps: Int) throws -> (run: String, step: Int) {
        let run = try start(h, steps: steps)
        let paused = try h.call("run/pause", ["run": .string(run)])
        XCTAssertEqual(paused["state"], "paused")
        let step = Int(try XCTUnwrap(paused["step"]?.int64Value))
        XCTAssertLessThan(step, steps / 2, "the plain pause landed early enough for these tests")
        return (run, step)
    }

    private func parameters(_ h: ServerHarness, _ model: String) throws -> [Double] {
        try h.server.workspace.model(model).model.parameters
    }

    private func finished(_ h: ServerHarness, _ run: String, timeout: Double = 30) -> JSON? {
        h.finished(run, timeout: timeout)
    }

    /// Sends `run/pause` with `atStep: step` (answered later) and returns its id once the stop point is surely set:
    /// another `atStep` is then refused as pending (the requests run on threads of their own, so without this proof
    /// a request sent next could overtake it).
    private func setStopPoint(_ h: ServerHarness, _ run: String, _ step: Int) -> Int64 {
        let id = h.send("run/pause", ["run": .string(run), "atStep": .int(step)])
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            // atStep 0 is never set (every run has done ≥ 0 steps), and the pending check comes first.
            let probe = h.answer("run/pause", ["run": .string(run), "atStep": 0])
            if errorMessage(probe).contains("pause at step \(step) is already pending") { return id }
            Thread.sleep(forTimeInterval: 0.001)
        }
        XCTFail("the stop point at \(step) was not set")
        return id
    }

    private func errorMessage(_ answer: JSON) -> String { answer["error"]?["message"]?.stringValue ?? "" }

    func testPauseAtStepLandsExactlyThereWithTheParametersOfARunOfThatLength() throws {
        let h = try harness(models: 2)
        let (run, early) = try startPaused(h, steps: 4000)
        let k = early + 137
        let pending = setStopPoint(h, run, k)
        XCTAssertNil(h.answerIfArrived(pending), "no answer while the run is paused before its stop point")
        XCTAssertEqual(try h.call("run/resume", ["run": .string(run)])["state"], "running")
        let answer = h.waitForAnswer(pending)
        XCTAssertNil(answer["error"], "\(answer)")
        XCTAssertEqual(answer["result"]?["state"], "paused")
        XCTAssertEqual(answer["result"]?["step"], .int(k), "paused right after step atStep")
        Thread.sleep(forTimeInterval: 0.05)
        XCTAssertEqual(try h.call("run/status", ["run": .string(run)])["step"], .int(k), "and stays there")

        // The same run (model, seed, pipeline, optimizer) with `steps: k`, to completion, on an identical model.
        let initial = try parameters(h, "m2")
        let reference = try start(h, model: "m2", steps: k)
        XCTAssertEqual(finished(h, reference)?["steps"], .int(k))
        let atStep = try parameters(h, "m1"), complete = try parameters(h, "m2")
        XCTAssertEqual(atStep.count, complete.count)
        XCTAssertNotEqual(atStep, initial, "the run trained")
        // Bitwise: both runs do the same float operations in the same order on one thread each (same seeded batch
        // order, constant learning rate), and a pause only copies the parameters, so any difference is a wrong step.
        XCTAssertEqual(atStep, complete, "parameters after exactly k steps")

        XCTAssertEqual(try h.call("run/resume", ["run": .string(run)])["state"], "running")
        try h.call("run/stop", ["run": .string(run)])
    }

    func testAStopPointAtTheLastStepPausesBeforeTheRunFinishes() throws {
        let h = try harness()
        let (run, _) = try startPaused(h, steps: 300)
        let pending = setStopPoint(h, run, 300)
        try h.call("run/resume", ["run": .string(run)])
        let answer = h.waitForAnswer(pending)
        XCTAssertEqual(answer["result"]?["state"], "paused", "\(answer)")
        XCTAssertEqual(answer["result"]?["step"], 300)
        try h.call("run/resume", ["run": .string(run)])
        let done = finished(h, run)
        XCTAssertEqual(done?["reason"], "completed", "resumed after its last step, the run completes")
        XCTAssertEqual(done?["steps"], 300)
    }

    func testStepsAlreadyTakenOrBeyondTheEndAndASecondStopPointAreRefused() throws {
        let h = try harness()
        let (run, p) = try startPaused(h, steps: 4000)
        for past in [p, max(0, p - 1), 0] {
            let answer = h.answer("run/pause", ["run": .string(run), "atStep": .int(past)])
            XCTAssertEqual(answer["error"]?["code"], -31003, "atStep \(past) with \(p) steps done")
            XCTAssertTrue(errorMessage(answer).contains("at step \(p)"), errorMessage(answer))
            XCTAssertTrue(errorMessage(answer).contains("must be greater"), errorMessage(answer))
        }
        let beyond = h.answer("run/pause", ["run": .string(run), "atStep": 4001])
        XCTAssertEqual(beyond["error"]?["code"], -31003)
        XCTAssertTrue(errorMessage(beyond).contains("4000 steps"), errorMessage(beyond))

        let first = setStopPoint(h, run, p + 50)
        let second = h.answer("run/pause", ["run": .string(run), "atStep": .int(p + 20)])
        XCTAssertEqual(second["error"]?["code"], -31003, "one stop point at a time")
        XCTAssertTrue(errorMessage(second).contains("pause at step \(p + 50) is already pending"), errorMessage(second))
        try h.call("run/resume", ["run": .string(run)])
        XCTAssertEqual(h.waitForAnswer(first)["result"]?["step"], .int(p + 50), "the first stop point is unaffected")
        try h.call("run/stop", ["run": .string(run)])
    }

    func testMalformedAtStepIsInvalidParams() throws {
        let h = try harness()
        let (run, _) = try startPaused(h, steps: 4000)
        for bad: JSON in [-1, 2.5, "10", true] {
            let answer = h.answer("run/pause", ["run": .string(run), "atStep": bad])
            XCTAssertEqual(answer["error"]?["code"], -32602, "atStep \(bad)")
            XCTAssertTrue(errorMessage(answer).contains("`params.atStep`"), errorMessage(answer))
        }
        try h.call("run/stop", ["run": .string(run)])
    }

    func testARunThatEndsFirstAnswersWithTheStepItEndedAt() throws {
        let h = try harness()
        let (run, p) = try startPaused(h, steps: 4000)
        let pending = setStopPoint(h, run, 3000)
        let stopped = try h.call("run/stop", ["run": .string(run)])
        XCTAssertEqual(stopped["step"], .int(p), "stopped while paused: no further step")
        let answer = h.waitForAnswer(pending)
        XCTAssertEqual(answer["error"]?["code"], -31003)
        XCTAssertTrue(
            errorMessage(answer).contains("finished (stopped) at step \(p) before reaching atStep 3000"),
            errorMessage(answer))
    }

    func testCancellingWithdrawsTheStopPointAndTheRunCompletes() throws {
        let h = try harness()
        let (run, p) = try startPaused(h, steps: 1000)
        let pending = h.send("run/pause", ["run": .string(run), "atStep": .int(p + 10)])
        h.cancel(pending)
        XCTAssertEqual(h.waitForAnswer(pending)["error"]?["code"], -32800)
        // The handler withdraws the stop point within one poll (20 ms); should the run reach it first, withdrawing
        // resumes it, so the run completes in either order.
        try h.call("run/resume", ["run": .string(run)])
        let done = finished(h, run)
        XCTAssertEqual(done?["reason"], "completed", "the run did not stop at the withdrawn step")
        XCTAssertEqual(done?["steps"], 1000)
    }

    func testACancelAfterTheAnswerLeavesThePauseStanding() throws {
        let h = try harness()
        let (run, p) = try startPaused(h, steps: 1000)
        let pending = setStopPoint(h, run, p + 10)
        try h.call("run/resume", ["run": .string(run)])
        XCTAssertEqual(h.waitForAnswer(pending)["result"]?["step"], .int(p + 10))
        h.cancel(pending)  // the request is over: nothing to cancel
        Thread.sleep(forTimeInterval: 0.1)
        let status = try h.call("run/status", ["run": .string(run)])
        XCTAssertEqual(status["state"], "paused")
        XCTAssertEqual(status["step"], .int(p + 10))
        try h.call("run/stop", ["run": .string(run)])
    }

    func testResumeAnswersWhenAStopPointPausesTheRunAgainAtOnce() throws {
        let h = try harness()
        let (run, p) = try startPaused(h, steps: 4000)
        let pending = setStopPoint(h, run, p + 1)
        // One step and paused again: run/resume must see the new step rather than wait (30 s) for a state other than
        // paused. The 10 s limit is a hang guard, not a timing: the answer comes within milliseconds.
        let resumed = h.answer("run/resume", ["run": .string(run)], timeout: 10)
        XCTAssertNil(resumed["error"], "\(resumed)")
        let state = resumed["result"]?["state"]?.stringValue, step = resumed["result"]?["step"]
        XCTAssertTrue(
            (state == "running" && step == .int(p)) || (state == "paused" && step == .int(p + 1)),
            "seen running before its step, or paused again after it: \(resumed)")
        XCTAssertEqual(h.waitForAnswer(pending)["result"]?["step"], .int(p + 1))
        try h.call("run/stop", ["run": .string(run)])
    }

    func testAStopPointSentBeforeAResumeIsSetFirst() throws {
        // `run/pause {atStep}` and `run/resume` sent back to back, without waiting: the pause's stop point is set
        // on the reader thread before the resume lets the run go, so every one is reached exactly (as threads
        // of their own, the resume sometimes ran first and the run went past the step: -31003).
        let h = try harness()
        let (run, paused) = try startPaused(h, steps: 20_000)
        var step = paused
        for _ in 0..<60 {
            step += 3
            let pause = h.send("run/pause", ["run": .string(run), "atStep": .int(step)])
            let resume = h.send("run/resume", ["run": .string(run)])
            let answer = h.waitForAnswer(pause, timeout: 30)
            XCTAssertEqual(answer["result"]?["step"], .int(step), "\(answer)")
            XCTAssertEqual(answer["result"]?["state"], "paused")
            XCTAssertNotNil(h.waitForAnswer(resume, timeout: 30)["result"])
        }
        _ = try h.call("run/stop", ["run": .string(run)])
    }

    func testAStopSentBeforeAResumeEndsThePausedRunWhereItIs() throws {
        // `run/stop` then `run/resume`, back to back, on a paused run: the stop is signalled first, so the run ends
        // at the step it paused at (when the stop ran on a thread of its own, the resume could let it train on).
        let h = try harness()
        for _ in 0..<20 {
            let (run, paused) = try startPaused(h, steps: 200_000)
            let stop = h.send("run/stop", ["run": .string(run)])
            let resume = h.send("run/resume", ["run": .string(run)])
            XCTAssertEqual(h.waitForAnswer(stop, timeout: 30)["result"]?["step"], .int(paused))
            _ = h.waitForAnswer(resume, timeout: 30)  // a result or -31003 (finished), depending on when it looked
            XCTAssertEqual(finished(h, run)?["steps"], .int(paused))
        }
    }
}
