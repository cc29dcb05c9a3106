import Foundation
import XCTest
@testable import SaddleJSON
@testable import SaddleRPC
@testable import SaddleServer

/// Runs started from run files, the run form of `diagnose`, and live `run/diagnosis`.
final class RunDiagnosisTests: XCTestCase {
    private func waitForNotification(_ h: ServerHarness, _ method: String, run: String, timeout: TimeInterval = 60) -> JSON? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let found = h.notifications(method).first(where: { $0["params"]?["run"]?.stringValue == run }) {
                return found["params"]
            }
            Thread.sleep(forTimeInterval: 0.01)
        }
        XCTFail("no \(method) for run \(run) within \(timeout) s")
        return nil
    }

    private let xorRunFile: JSON = [
        "name": "xor",
        "model": [
            "input": 2, "layers": [["kind": "dense", "units": 8, "activation": "tanh"], ["kind": "dense", "units": 1]],
            "loss": "mse", "seed": 1,
        ],
        "data": ["generate": ["kind": "xor", "samples": 200, "noise": 0.05, "labels": "signed", "seed": 2]],
        "optimizer": ["kind": "sgd", "lr": 0.05],
        "pipeline": ["batchSize": 32],
        "steps": 200,
    ]

    func testRunFileStartsARunWhoseDiagnosisArrivesLiveAndOnRequest() throws {
        let h = ServerHarness()
        let status = try h.call("run/start", ["runFile": xorRunFile])
        let run = try XCTUnwrap(status["run"]?.stringValue)
        XCTAssertEqual(status["model"], "m1", "the run file's model was created")
        XCTAssertEqual(status["dataset"], "d1", "the run file's data set was created")
        XCTAssertEqual(waitForNotification(h, "run/finished", run: run)?["reason"], "completed")
        let deadline = Date().addingTimeInterval(60)
        var finalDiagnosis: JSON?
        while finalDiagnosis == nil, Date() < deadline {
            finalDiagnosis = h.notifications("run/diagnosis").last { $0["params"]?["final"] == true }?["params"]
            Thread.sleep(forTimeInterval: 0.01)
        }
        let final = try XCTUnwrap(finalDiagnosis, "the final run/diagnosis arrives after the run ends")
        XCTAssertEqual(final["diagnosis"]?["verdict"], "progressing", "a healthy XOR run is progressing")
        XCTAssertNotNil(final["diagnosis"]?["lanczos"], "the final diagnosis measures curvature at the final weights")
        let diagnosis = try h.call("diagnose", ["run": .string(run)])
        XCTAssertEqual(diagnosis["run"]?.stringValue, run)
        XCTAssertEqual(diagnosis["step"], 199)
        XCTAssertEqual(diagnosis["verdict"], "progressing")
    }

    func testRunFileErrorsNameTheFieldInTheFile() {
        let h = ServerHarness()
        guard case .object(var file) = xorRunFile else { return XCTFail() }
        file["optimizer"] = ["kind": "sgd", "lr": -1]
        let answer = h.answer("run/start", ["runFile": .object(file)])
        XCTAssertEqual(answer["error"]?["code"], -32602)
        XCTAssertTrue(
            answer["error"]?["message"]?.stringValue?.contains("`params.runFile.optimizer.lr`") ?? false,
            "\(answer)")
        file["optimizer"] = ["kind": "sgd", "lr": 0.1]
        file["data"] = ["load": ["format": "npy", "inputs": "missing-x.npy", "targets": "missing-y.npy"]]
        let missing = h.answer("run/start", ["runFile": .object(file), "runFileDirectory": "/nonexistent"])
        XCTAssertEqual(missing["error"]?["code"], -31004)
        XCTAssertTrue(
            missing["error"]?["message"]?.stringValue?.contains("/nonexistent/missing-x.npy") ?? false,
            "relative paths resolve against the run file's folder: \(missing)")
        XCTAssertEqual(h.errorCode("run/start", ["runFile": .object(file), "model": "m1"]), -32602)
    }

    /// Issue #6's own scenario, produced by real training: a deep linear network started near zero stalls at
    /// the origin saddle; the run is diagnosed `saddle`; the escape probe lowers the loss; training goes on.
    func testDeepLinearRunStallsAtTheSaddleAndTheEscapeStepUnsticksIt() throws {
        let h = ServerHarness()
        _ = try h.call("dataset/generate", ["kind": "deepLinear", "inputs": 4, "outputs": 2, "samples": 256, "seed": 7])
        let layer: (Int) -> JSON = {
            ["kind": "dense", "units": .int($0), "bias": false, "init": ["kind": "normal", "std": 1e-6]]
        }
        _ = try h.call(
            "model/create", ["spec": ["input": 4, "layers": [layer(4), layer(4), layer(2)], "loss": "mse", "seed": 3]])
        func train() throws -> (run: String, losses: [Double]) {
            let run = try XCTUnwrap(
                try h.call(
                    "run/start",
                    [
                        "model": "m1", "dataset": "d1", "optimizer": ["kind": "sgd", "lr": 0.02],
                        "pipeline": ["batchSize": 256, "shuffle": false], "steps": 80, "precision": "double",
                    ])["run"]?.stringValue)
            _ = waitForNotification(h, "run/finished", run: run)
            let points = try h.call("run/history", ["run": .string(run)])["points"]?.arrayValue ?? []
            return (run, points.compactMap { $0["loss"]?.doubleValue })
        }
        let stalled = try train()
        let first = try XCTUnwrap(stalled.losses.first), last = try XCTUnwrap(stalled.losses.last)
        XCTAssertEqual(last, first, accuracy: 1e-6 * first, "the loss is flat: training stalled")
        let diagnosis = try h.call("diagnose", ["run": .string(stalled.run)])
        XCTAssertEqual(diagnosis["verdict"], "saddle")
        XCTAssertLessThan(diagnosis["lanczos"]?["lambdaMin"]?.doubleValue ?? 0, 0)
        let direction = try XCTUnwrap(diagnosis["negativeCurvatureDirection"])
        let probe = try h.call("escape/probe", ["model": "m1", "dataset": "d1", "direction": direction, "apply": true])
        XCTAssertEqual(probe["applied"], true)
        XCTAssertLessThan(probe["newLoss"]?.doubleValue ?? .infinity, last, "the escape step lowers the loss")
        let resumed = try train()
        XCTAssertLessThan(try XCTUnwrap(resumed.losses.last), 0.5 * last, "after the escape the loss falls again")
        XCTAssertEqual(try h.call("diagnose", ["run": .string(resumed.run)])["verdict"], "progressing")
    }

    func testFullBatchTrainingIsNoRepeatedBatchStall() throws {
        let h = ServerHarness()
        guard case .object(var file) = xorRunFile else { return XCTFail() }
        file["pipeline"] = ["batchSize": 200, "shuffle": false]
        let run = try XCTUnwrap(try h.call("run/start", ["runFile": .object(file)])["run"]?.stringValue)
        _ = waitForNotification(h, "run/finished", run: run)
        XCTAssertNotEqual(
            try h.call("diagnose", ["run": .string(run)])["verdict"], "dataPipelineStall",
            "every step feeds the whole data set: the same batch each epoch is no stall")
    }

    /// A long-lived daemon runs many runs: an ended run keeps only its settings and final status.
    func testAnEndedRunIsRetiredToItsFinalStatus() throws {
        let h = ServerHarness()
        let run = try XCTUnwrap(try h.call("run/start", ["runFile": xorRunFile])["run"]?.stringValue)
        _ = waitForNotification(h, "run/finished", run: run)
        let deadline = Date().addingTimeInterval(10)
        while h.server.runs.run(run) != nil, Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        XCTAssertNil(h.server.runs.run(run), "the ended run's training state is freed")
        XCTAssertNotNil(h.server.runs.entry(run), "its settings stay, for diagnose {run}")
        let status = try h.call("run/status", ["run": .string(run)])
        XCTAssertEqual(status["state"], "finished")
        XCTAssertEqual(status["finishReason"], "completed")
        XCTAssertEqual(status["step"], 200)
        XCTAssertEqual(h.errorCode("run/pause", ["run": .string(run)]), -31003)
    }

    func testRunFormErrors() throws {
        let h = ServerHarness()
        XCTAssertEqual(h.errorCode("diagnose", ["run": "r-none"]), -31001)
        XCTAssertEqual(h.errorCode("diagnose", ["run": "r1", "model": "m1"]), -32602)
        XCTAssertEqual(h.errorCode("diagnose", ["run": "r1", "evidence": [:], "model": "m1"]), -32602)
        XCTAssertEqual(h.errorCode("diagnose", ["run": "r1", "evidence": ["ranks": []]]), -32602)
        XCTAssertEqual(
            h.errorCode("diagnose", ["run": "r-none", "evidence": [:]]), -31001, "measured evidence needs a known run")
    }
}
