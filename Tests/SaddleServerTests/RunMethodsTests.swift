import Foundation
import XCTest
@testable import SaddleJSON
@testable import SaddleModels
@testable import SaddleRPC
@testable import SaddleServer

final class RunMethodsTests: XCTestCase {
    private let xorSpec = ServerHarness.xorSpec

    /// A harness holding an XOR data set "d1" (64 noisy corners) and one model per `models`.
    private func harness(models: Int = 1, configuration: ServerConfiguration = ServerConfiguration()) throws -> ServerHarness {
        let h = ServerHarness(configuration: configuration)
        try h.call("dataset/generate", ["kind": "xor", "samples": 64, "noise": 0.05, "seed": 1])
        for _ in 0..<models { try h.call("model/create", ["spec": xorSpec]) }
        return h
    }

    private func start(
        _ h: ServerHarness, model: String = "m1", steps: Int = 200, lr: Double = 0.05,
        pipeline: JSON = ["batchSize": 16], events: JSON = ["rate": 1000]
    ) throws -> String {
        let status = try h.call(
            "run/start",
            [
                "model": .string(model), "dataset": "d1", "optimizer": ["kind": "adam", "lr": .double(lr)],
                "pipeline": pipeline, "steps": .int(steps), "events": events,
            ])
        XCTAssertEqual(status["state"], "running")
        XCTAssertEqual(status["totalSteps"], .int(steps))
        return try XCTUnwrap(status["run"]?.stringValue)
    }

    private func finished(_ h: ServerHarness, _ run: String, timeout: Double = 30) -> JSON? {
        h.finished(run, timeout: timeout)
    }

    private func steps(_ h: ServerHarness, _ run: String) -> [JSON] {
        h.notifications("run/step").compactMap { $0["params"] }.filter { $0["run"]?.stringValue == run }
    }

    private func fullLoss(_ h: ServerHarness) throws -> Double {
        let model = h.server.workspace.models()[0].model, data = h.server.workspace.datasets()[0].dataset
        return try Objective(model: model, dataset: data, precision: .double).loss(model.parameters)
    }

    func testRunCompletesLossFallsHistoryHasEveryStepAndModelIsUpdated() throws {
        let h = try harness()
        let before = try fullLoss(h)
        let run = try start(h, steps: 200)
        XCTAssertEqual(h.server.workspace.models()[0].trainingRun, run, "the model is marked as trained by the run")
        let done = try XCTUnwrap(finished(h, run))
        XCTAssertEqual(done["reason"], "completed")
        XCTAssertEqual(done["steps"], 200)

        let history = try h.call("run/history", ["run": .string(run)])
        let points = try XCTUnwrap(history["points"]?.arrayValue)
        XCTAssertEqual(history["totalSteps"], 200)
        XCTAssertEqual(points.compactMap { $0["step"]?.int64Value }, (0..<200).map { Int64($0) }, "every step, in order")
        let losses = points.compactMap { $0["loss"]?.doubleValue }
        let first = losses.prefix(20).reduce(0, +) / 20, last = losses.suffix(20).reduce(0, +) / 20
        // Adam at lr 0.05 fits noisy XOR in 200 steps (measured: ~0.69 → ~0.01); halving is a loose bound.
        XCTAssertLessThan(last, 0.5 * first, "loss falls: first 20 mean \(first), last 20 mean \(last)")

        let after = try fullLoss(h)
        XCTAssertLessThan(after, 0.5 * before, "the trained parameters were written back into the model")
        XCTAssertNil(h.server.workspace.models()[0].trainingRun, "the model is released when the run ends")
        let status = try h.call("run/status", ["run": .string(run)])
        XCTAssertEqual(status["state"], "finished")
        XCTAssertEqual(status["step"], 200)
        XCTAssertEqual(status["finishReason"], "completed")
        // The last step notification is the last step, whatever the rate.
        XCTAssertEqual(steps(h, run).last?["step"], 199)
        let entry = try XCTUnwrap(h.server.runEntry(run))
        XCTAssertEqual(entry.model, "m1")
        XCTAssertEqual(entry.batchSize, 16)
        XCTAssertEqual(entry.learningRate, 0.05)
        XCTAssertEqual(try h.server.runHistoryEvidence(run).count, 200)
    }

    func testStepNotificationsRespectTheRateAndCountWhatTheyCoalesce() throws {
        let h = try harness()
        // 5 ms per batch × 200 steps ≈ 1 s at 5 notifications per second.
        let run = try start(h, steps: 200, pipeline: ["batchSize": 16, "faults": ["delayMs": 5]], events: ["rate": 5])
        _ = try XCTUnwrap(finished(h, run))
        let events = steps(h, run)
        // ~1 s at 5/s: about 6 on the clock, plus the final step; 12 allows for a slow CI machine stretching the run.
        XCTAssertGreaterThanOrEqual(events.count, 2)
        XCTAssertLessThanOrEqual(events.count, 12, "at most ~rate × duration notifications")
        let dropped = events.compactMap { $0["dropped"]?.int64Value }
        XCTAssertTrue(dropped.contains { $0 > 0 }, "coalesced events are counted")
        // Every step is either sent or counted as dropped in the next notification: exactly 200.
        XCTAssertEqual(events.count + Int(dropped.reduce(0, +)), 200)
        let steps = events.compactMap { $0["step"]?.int64Value }
        XCTAssertEqual(steps, steps.sorted(), "notifications are in step order")
    }

    func testPauseFreezesTheRunResumeContinuesStopEndsItAndStateErrors() throws {
        let h = try harness()
        let initial = h.server.workspace.models()[0].model.parameters
        let run = try start(h, steps: 1_000_000, pipeline: ["batchSize": 16, "faults": ["delayMs": 1]])
        Thread.sleep(forTimeInterval: 0.1)
        let paused = try h.call("run/pause", ["run": .string(run)])
        XCTAssertEqual(paused["state"], "paused")
        let frozen = try XCTUnwrap(paused["step"]?.int64Value)
        XCTAssertGreaterThan(frozen, 0)
        XCTAssertNotEqual(h.server.workspace.models()[0].model.parameters, initial, "pausing writes the parameters back")
        Thread.sleep(forTimeInterval: 0.1)
        XCTAssertEqual(try h.call("run/status", ["run": .string(run)])["step"]?.int64Value, frozen, "a paused run takes no step")
        XCTAssertEqual(h.errorCode("run/pause", ["run": .string(run)]), -31003, "pausing a paused run")

        let resumed = try h.call("run/resume", ["run": .string(run)])
        XCTAssertEqual(resumed["state"], "running")
        XCTAssertEqual(h.errorCode("run/resume", ["run": .string(run)]), -31003, "resuming a running run")
        Thread.sleep(forTimeInterval: 0.05)
        XCTAssertGreaterThan(try h.call("run/status", ["run": .string(run)])["step"]?.int64Value ?? 0, frozen)

        let stopped = try h.call("run/stop", ["run": .string(run)])
        XCTAssertEqual(stopped["state"], "finished")
        XCTAssertEqual(stopped["finishReason"], "stopped")
        XCTAssertNil(h.server.workspace.models()[0].trainingRun, "released once run/stop answers")
        XCTAssertEqual(finished(h, run)?["reason"], "stopped")
        for method in ["run/pause", "run/resume", "run/stop"] {
            XCTAssertEqual(h.errorCode(method, ["run": .string(run)]), -31003, "\(method) on a finished run")
        }
        let stored = try h.call("run/history", ["run": .string(run)])["totalSteps"]?.int64Value ?? -1
        XCTAssertEqual(stored, stopped["step"]?.int64Value, "the store has every step the run took")
    }

    func testInjectedDataDelayShowsAsDataWait() throws {
        let h = try harness(models: 2)
        let fast = try start(h, model: "m1", steps: 40)
        let slow = try start(h, model: "m2", steps: 30, pipeline: ["batchSize": 16, "faults": ["delayMs": 20]])
        _ = finished(h, fast)
        _ = finished(h, slow)
        let slowStatus = try h.call("run/status", ["run": .string(slow)])
        let fastStatus = try h.call("run/status", ["run": .string(fast)])
        // 20 ms per batch against microseconds of compute: the step waits ~20 ms (≥ 15 allows for timer slack
        // the other way never happens: a sleep never returns early); share ≥ 0.8 is loose.
        XCTAssertGreaterThanOrEqual(slowStatus["dataWaitSeconds"]?.doubleValue ?? 0, 0.015)
        XCTAssertGreaterThan(slowStatus["dataWaitShare"]?.doubleValue ?? 0, 0.8)
        XCTAssertLessThan(fastStatus["dataWaitSeconds"]?.doubleValue ?? 1, 0.01, "no fault: batches are prefetched")
        let points = try XCTUnwrap(try h.call("run/history", ["run": .string(slow)])["points"]?.arrayValue)
        let waits = points.compactMap { $0["dataWaitSeconds"]?.doubleValue }
        XCTAssertEqual(waits.count, 30)
        XCTAssertGreaterThanOrEqual(waits.reduce(0, +) / 30, 0.015, "history carries the wait of every step")
    }

    func testIngestedStepsComeBackFromHistoryAndList() throws {
        let h = try harness()
        let first = try h.call(
            "run/ingest",
            [
                "name": "external",
                "steps": .array(
                    (0..<5).map {
                        ["step": .int($0), "loss": .double(1.0 / Double($0 + 1)), "lr": 0.1]
                    }),
            ])
        let run = try XCTUnwrap(first["run"]?.stringValue)
        XCTAssertEqual(first["accepted"], 5)
        XCTAssertEqual(first["lastStep"], 4)
        let second = try h.call(
            "run/ingest",
            [
                "run": .string(run),
                "steps": [
                    ["step": 5, "loss": "NaN", "gradNorm": "Infinity"], ["step": 6, "loss": 0.5, "rank": 1],
                ],
            ])
        XCTAssertEqual(second["lastStep"], 6)

        let history = try h.call("run/history", ["run": .string(run)])
        XCTAssertEqual(history["totalSteps"], 7)
        let points = try XCTUnwrap(history["points"]?.arrayValue)
        XCTAssertEqual(
            points.map { $0["loss"] }, [1.0, 0.5, .double(1.0 / 3), 0.25, 0.2, "NaN", 0.5], "exact values, NaN as a string")
        XCTAssertEqual(points[5]["gradNorm"], "Infinity")
        XCTAssertEqual(points[6]["rank"], 1)
        XCTAssertEqual(try h.call("run/history", ["run": .string(run), "rank": 1])["totalSteps"], 1)
        let listed = try XCTUnwrap(try h.call("run/list")["runs"]?.arrayValue?.first { $0["run"]?.stringValue == run })
        XCTAssertEqual(listed["kind"], "ingested")
        XCTAssertEqual(listed["steps"], 7)
        XCTAssertEqual(listed["name"], "external")
        let status = try h.call("run/status", ["run": .string(run)])
        XCTAssertEqual(status["state"], "running")
        XCTAssertEqual(status["lastStep"], 6)
        XCTAssertEqual(h.errorCode("run/pause", ["run": .string(run)]), -31003, "an ingested run is paused where it trains")
        XCTAssertEqual(try h.call("run/stop", ["run": .string(run)])["state"], "finished", "its client ends it")
        XCTAssertEqual(h.errorCode("run/ingest", ["run": .string(run), "steps": [["step": 9, "loss": 1]]]), -31003)
    }

    func testMalformedIngestIsRefusedWholeAndNamesTheEvent() throws {
        let h = try harness()
        let run = try XCTUnwrap(try h.call("run/ingest", ["name": "x", "steps": [["step": 0, "loss": 1]]])["run"]?.stringValue)
        let bad = h.answer(
            "run/ingest",
            [
                "run": .string(run),
                "steps": [
                    ["step": 1, "loss": 1], ["step": 2, "loss": 1], ["step": 3, "loss": 1], ["step": 4, "loss": "x"],
                    ["step": 5, "loss": 1],
                ],
            ])
        XCTAssertEqual(bad["error"]?["code"], -32602)
        let message = bad["error"]?["message"]?.stringValue ?? ""
        XCTAssertTrue(message.contains("steps[3]"), message)
        XCTAssertEqual(
            try h.call("run/history", ["run": .string(run)])["totalSteps"], 1, "nothing from the refused call is stored")
        let runsBefore = try h.call("run/list")["runs"]?.arrayValue?.count
        XCTAssertEqual(h.errorCode("run/ingest", ["name": "y", "steps": [["step": -1, "loss": 1]]]), -32602)
        XCTAssertEqual(try h.call("run/list")["runs"]?.arrayValue?.count, runsBefore, "a refused first call creates no run")
        XCTAssertEqual(h.errorCode("run/ingest", ["steps": [["step": 0, "loss": 1]]]), -32602, "run or name is required")
    }

    func testUnknownRunsAndMisdirectedRequests() throws {
        let h = try harness()
        for method in ["run/status", "run/pause", "run/resume", "run/stop", "run/history"] {
            XCTAssertEqual(h.errorCode(method, ["run": "nope"]), -31001, method)
        }
        XCTAssertEqual(h.errorCode("run/ingest", ["run": "nope", "steps": [["step": 0, "loss": 1]]]), -31001)
        let run = try start(h, steps: 5)
        _ = finished(h, run)
        XCTAssertEqual(
            h.errorCode("run/ingest", ["run": .string(run), "steps": [["step": 0, "loss": 1]]]), -31003,
            "steps cannot be ingested into a run the daemon trains")
        XCTAssertEqual(
            h.errorCode("run/start", ["model": "m9", "dataset": "d1", "optimizer": ["kind": "sgd"], "steps": 1]), -31001)
    }

    func testAFailingPipelineEndsTheRunAsFailedAndDisabledEventsSendOnlyTheEnd() throws {
        let h = try harness()
        let run = try start(
            h, steps: 100, pipeline: ["batchSize": 16, "faults": ["workerDiesAfter": 3]], events: ["enabled": false])
        let done = try XCTUnwrap(finished(h, run))
        XCTAssertEqual(done["reason"], "failed")
        XCTAssertEqual(done["steps"], 3, "three batches arrived, then the loader died")
        XCTAssertTrue(done["message"]?.stringValue?.contains("died after 3") ?? false, "\(done)")
        XCTAssertEqual(steps(h, run).count, 0, "events disabled: no run/step")
        XCTAssertEqual(try h.call("run/history", ["run": .string(run)])["totalSteps"], 3)
        XCTAssertNil(h.server.workspace.models()[0].trainingRun)
    }

    func testBadStartParameters() throws {
        let h = try harness()
        try h.call("model/create", ["spec": ["input": 3, "layers": [["kind": "dense", "units": 1]], "loss": "mse"]])
        let base: [String: JSON] = ["model": "m1", "dataset": "d1", "optimizer": ["kind": "sgd", "lr": 0.1]]
        func with(_ extra: [String: JSON]) -> JSON { .object(base.merging(extra) { $1 }) }
        XCTAssertEqual(h.errorCode("run/start", with(["steps": 5, "epochs": 1])), -32602, "steps and epochs exclude each other")
        XCTAssertEqual(h.errorCode("run/start", with([:])), -32602, "a length is required")
        XCTAssertEqual(
            h.errorCode("run/start", with(["steps": 5, "optimizer": ["kind": "sgd", "betas": [0.9, 0.99]]])), -32602)
        XCTAssertEqual(h.errorCode("run/start", with(["steps": 5, "model": "m2"])), -32602, "input width 3 vs 2")
        XCTAssertEqual(h.errorCode("run/start", with(["steps": 5, "events": ["rate": 0]])), -32602)
        // 64 samples in batches of 16: 2 epochs are 8 steps.
        let status = try h.call("run/start", with(["epochs": 2, "pipeline": ["batchSize": 16]]))
        XCTAssertEqual(status["totalSteps"], 8)
        XCTAssertEqual(finished(h, status["run"]?.stringValue ?? "")?["steps"], 8)
    }

    func testConcurrentRunsAndTheirLimits() throws {
        var configuration = ServerConfiguration()
        configuration.limits.maxActiveRuns = 2
        let h = try harness(models: 3, configuration: configuration)
        let a = try start(h, model: "m1", steps: 300, pipeline: ["batchSize": 16, "faults": ["delayMs": 1]])
        let b = try start(h, model: "m2", steps: 300, pipeline: ["batchSize": 16, "faults": ["delayMs": 1]])
        XCTAssertEqual(
            h.errorCode("run/start", ["model": "m1", "dataset": "d1", "optimizer": ["kind": "sgd"], "steps": 1]), -31002,
            "the limit comes first")
        let statusA = try h.call("run/status", ["run": .string(a)]), statusB = try h.call("run/status", ["run": .string(b)])
        XCTAssertEqual(statusA["active"], true)
        XCTAssertEqual(statusB["active"], true)
        XCTAssertEqual(finished(h, a)?["steps"], 300)
        XCTAssertEqual(finished(h, b)?["steps"], 300)
        XCTAssertEqual(try h.call("run/history", ["run": .string(a)])["totalSteps"], 300)
        XCTAssertEqual(try h.call("run/history", ["run": .string(b)])["totalSteps"], 300)
        // A model trained by a running run cannot be trained by another.
        let c = try start(h, model: "m3", steps: 1_000_000, pipeline: ["batchSize": 16, "faults": ["delayMs": 1]])
        XCTAssertEqual(
            h.errorCode("run/start", ["model": "m3", "dataset": "d1", "optimizer": ["kind": "sgd"], "steps": 1]), -31003)
        XCTAssertEqual(h.errorCode("model/dispose", ["model": "m3"]), -31003)
        try h.call("run/stop", ["run": .string(c)])
        let list = try XCTUnwrap(try h.call("run/list")["runs"]?.arrayValue)
        XCTAssertEqual(Set(list.compactMap { $0["run"]?.stringValue }), [a, b, c])
        XCTAssertTrue(list.allSatisfy { $0["kind"] == "own" && $0["active"] == false && $0["state"] == "finished" })
    }

    func testAStoreThatCannotBeOpenedIsRefused() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("saddle-corrupt-\(UUID()).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }).write(to: URL(fileURLWithPath: path))
        var configuration = ServerConfiguration()
        configuration.storePath = path
        let server = Server(configuration: configuration)
        XCTAssertThrowsError(try server.openRunStore()) { error in
            XCTAssertTrue("\(error)".contains("corrupt"), "\(error)")
        }
        let h = ServerHarness(configuration: configuration)
        let answer = h.answer("run/list")
        XCTAssertEqual(answer["error"]?["code"], -31006)
        XCTAssertTrue(answer["error"]?["message"]?.stringValue?.contains(path) ?? false, "the message names the file")
    }
}
