import Foundation
import XCTest
@testable import SaddleJSON
@testable import SaddleRPC
@testable import SaddleServer

/// Each condition the diagnosis names, produced by real training in the daemon and then diagnosed with
/// `diagnose {run}` (history plus curvature at the run's final parameters). Nothing here tells the diagnosis
/// what to expect: the verdicts come from the default thresholds and the decision procedure alone.
final class TrainedConditionsTests: XCTestCase {
    // MARK: Helpers

    private func waitForFinish(_ h: ServerHarness, run: String, timeout: TimeInterval = 60) -> JSON? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let found = h.notifications("run/finished").first(where: { $0["params"]?["run"]?.stringValue == run }) {
                return found["params"]
            }
            Thread.sleep(forTimeInterval: 0.002)
        }
        XCTFail("run \(run) did not finish within \(timeout) s")
        return nil
    }

    /// Starts a run on m1/d1, waits for it to end, and returns its id and its losses in step order.
    private func train(_ h: ServerHarness, optimizer: JSON, pipeline: JSON, steps: Int) throws -> (run: String, losses: [Double])
    {
        let run = try XCTUnwrap(
            try h.call(
                "run/start",
                [
                    "model": "m1", "dataset": "d1", "optimizer": optimizer, "pipeline": pipeline, "steps": .int(steps),
                    "precision": "double", "seed": 5,
                ])["run"]?.stringValue)
        _ = waitForFinish(h, run: run)
        return (run, try losses(h, run))
    }

    private func losses(_ h: ServerHarness, _ run: String) throws -> [Double] {
        let points = try h.call("run/history", ["run": .string(run)])["points"]?.arrayValue ?? []
        return points.compactMap { $0["loss"]?.doubleValue }
    }

    private func diagnose(_ h: ServerHarness, _ run: String) throws -> JSON {
        let diagnosis = try h.call("diagnose", ["run": .string(run)])
        if ProcessInfo.processInfo.environment["SADDLE_TEST_VERBOSE"] != nil {
            print("diagnosis of \(run): \((try? diagnosis.serializedString()) ?? "")")
        }
        return diagnosis
    }

    /// λ_max of the Hessian of m1 on d1 at the current parameters (dense Lanczos, converged).
    /// The evidence item `name` of a diagnosis.
    private func item(_ diagnosis: JSON, _ name: String) -> JSON? {
        diagnosis["evidence"]?.arrayValue?.first { $0["name"]?.stringValue == name }
    }

    private func lambdaMax(_ h: ServerHarness) throws -> Double {
        let eigen = try h.call(
            "curvature/eigen", ["model": "m1", "dataset": "d1", "largest": 1, "smallest": 0, "precision": "double"])
        return try XCTUnwrap(eigen["largest"]?[0]?["value"]?.doubleValue)
    }

    // MARK: Conditions

    /// Logistic regression on overlapping Gaussian classes: the cross-entropy is strictly convex up to the
    /// softmax's shift invariance and its minimum is finite (the classes overlap), so full-batch gradient
    /// descent at lr = 1/λ_max converges to it.
    func testLogisticRegressionTrainedToConvergenceIsALocalMinimum() throws {
        let h = ServerHarness()
        _ = try h.call(
            "dataset/generate",
            [
                "kind": "gaussianMixture", "classes": 3, "dimensions": 2, "samples": 300,
                "separation": 2, "seed": 11,
            ])
        _ = try h.call(
            "model/create",
            [
                "spec": [
                    "input": 2, "layers": [["kind": "dense", "units": 3]],
                    "loss": "softmaxCrossEntropy", "seed": 1,
                ]
            ])
        let top = try lambdaMax(h)
        let trained = try train(
            h, optimizer: ["kind": "sgd", "lr": .double(1 / top)],
            pipeline: ["batchSize": 300, "shuffle": false], steps: 400)
        let diagnosis = try diagnose(h, trained.run)
        XCTAssertEqual(diagnosis["verdict"], "localMinimum")
        XCTAssertEqual(item(diagnosis, "gradNorm")?["holds"], true, "the gradient is small: converged")
        XCTAssertEqual(item(diagnosis, "lambdaMin")?["holds"], false, "no clearly negative curvature")
    }

    /// Sigmoid units whose weights start at scale 50 sit deep in saturation from the first step: σ' is
    /// ~0 on every sample, so the gradient carries almost nothing and the loss stays where it started.
    func testSaturatedSigmoidNetworkIsAPlateau() throws {
        let h = ServerHarness()
        _ = try h.call("dataset/generate", ["kind": "xor", "samples": 200, "noise": 0.05, "labels": "binary", "seed": 2])
        let saturated: (Int) -> JSON = {
            ["kind": "dense", "units": .int($0), "activation": "sigmoid", "init": ["kind": "normal", "std": 50]]
        }
        _ = try h.call("model/create", ["spec": ["input": 2, "layers": [saturated(8), saturated(1)], "loss": "mse", "seed": 4]])
        let trained = try train(
            h, optimizer: ["kind": "sgd", "lr": 0.5], pipeline: ["batchSize": 200, "shuffle": false],
            steps: 300)
        let diagnosis = try diagnose(h, trained.run)
        XCTAssertEqual(diagnosis["verdict"], "plateau")
        let first = try XCTUnwrap(trained.losses.first), last = try XCTUnwrap(trained.losses.last)
        XCTAssertGreaterThan(last, 0.9 * first, "the loss barely moved in 300 steps: stuck")
        XCTAssertEqual(item(diagnosis, "saturatedFraction")?["holds"], true, "most units are saturated")
    }

    /// Linear least squares has a constant Hessian: gradient descent multiplies the error along the top
    /// eigenvector by |1 − lr·λ_max| = 2 per step at lr = 3/λ_max.
    func testLearningRateAboveTwoOverLambdaMaxDiverges() throws {
        let h = ServerHarness()
        _ = try h.call("dataset/generate", ["kind": "deepLinear", "inputs": 4, "outputs": 2, "samples": 128, "seed": 3])
        _ = try h.call(
            "model/create",
            [
                "spec": [
                    "input": 4, "layers": [["kind": "dense", "units": 2, "bias": false]],
                    "loss": "mse", "seed": 2,
                ]
            ])
        let top = try lambdaMax(h)
        let trained = try train(
            h, optimizer: ["kind": "sgd", "lr": .double(3 / top)],
            pipeline: ["batchSize": 128, "shuffle": false], steps: 200)
        let diagnosis = try diagnose(h, trained.run)
        XCTAssertTrue(["diverging", "noisyOrIllConditioned"].contains(diagnosis["verdict"]?.stringValue ?? ""), "\(diagnosis)")
        // |1 − 3| = 2 per step along the top eigenvector: the loss grows by orders of magnitude.
        XCTAssertGreaterThan(try XCTUnwrap(trained.losses.last), 1e6 * (try XCTUnwrap(trained.losses.first)))
    }

    private func healthyRun(_ h: ServerHarness) throws {
        _ = try h.call("dataset/generate", ["kind": "teacherStudent", "inputs": 4, "hidden": 8, "samples": 256, "seed": 9])
        _ = try h.call(
            "model/create",
            [
                "spec": [
                    "input": 4,
                    "layers": [["kind": "dense", "units": 16, "activation": "tanh"], ["kind": "dense", "units": 1]],
                    "loss": "mse", "seed": 6,
                ]
            ])
    }

    func testHealthyAdamRunIsProgressing() throws {
        let h = ServerHarness()
        try healthyRun(h)
        let trained = try train(h, optimizer: ["kind": "adam", "lr": 0.01], pipeline: ["batchSize": 32], steps: 300)
        let diagnosis = try diagnose(h, trained.run)
        XCTAssertEqual(diagnosis["verdict"], "progressing")
        XCTAssertEqual(item(diagnosis, "lossTrend")?["holds"], true, "the loss falls over the last window")
    }

    func testHealthyRunWithSlowDataIsADataPipelineStall() throws {
        let h = ServerHarness()
        try healthyRun(h)
        let trained = try train(
            h, optimizer: ["kind": "adam", "lr": 0.01],
            pipeline: ["batchSize": 32, "faults": ["delayMs": 5]], steps: 100)
        let diagnosis = try diagnose(h, trained.run)
        XCTAssertEqual(diagnosis["verdict"], "dataPipelineStall")
        XCTAssertEqual(item(diagnosis, "dataWaitShare")?["holds"], true, "5 ms waits beside ~0.1 ms steps")
    }

    func testHealthyRunFedOneBatchAgainIsADataPipelineStall() throws {
        let h = ServerHarness()
        try healthyRun(h)
        let trained = try train(
            h, optimizer: ["kind": "adam", "lr": 0.01],
            pipeline: ["batchSize": 32, "faults": ["repeatBatch": true]], steps: 100)
        let diagnosis = try diagnose(h, trained.run)
        XCTAssertEqual(diagnosis["verdict"], "dataPipelineStall")
        XCTAssertEqual(item(diagnosis, "repeatedBatchShare")?["holds"], true, "the same batch again and again")
    }
}

/// Issue "Diagnosis" item 5: an escape step applied to a paused run goes into the run itself.
final class PausedRunEscapeTests: XCTestCase {
    private func status(_ h: ServerHarness, _ run: String) throws -> JSON { try h.call("run/status", ["run": .string(run)]) }

    /// The deep linear network of RunDiagnosisTests, started near zero, stalls at the origin saddle. Paused
    /// mid-run it is diagnosed `saddle`; the escape step is applied to the paused run; resumed, the same run
    /// leaves the saddle: its later losses fall far below the stalled loss.
    func testEscapeAppliedToAPausedRunIsWhereTheRunResumes() throws {
        let h = ServerHarness()
        _ = try h.call("dataset/generate", ["kind": "deepLinear", "inputs": 4, "outputs": 2, "samples": 256, "seed": 7])
        let layer: (Int) -> JSON = {
            ["kind": "dense", "units": .int($0), "bias": false, "init": ["kind": "normal", "std": 1e-6]]
        }
        _ = try h.call(
            "model/create", ["spec": ["input": 4, "layers": [layer(4), layer(4), layer(2)], "loss": "mse", "seed": 3]])
        let steps = 3000
        let run = try XCTUnwrap(
            try h.call(
                "run/start",
                [
                    "model": "m1", "dataset": "d1", "optimizer": ["kind": "sgd", "lr": 0.02],
                    "pipeline": ["batchSize": 256, "shuffle": false], "steps": .int(steps), "precision": "double",
                ])["run"]?.stringValue)
        let deadline = Date().addingTimeInterval(30)
        while try status(h, run)["step"]?.int64Value ?? 0 < 100, Date() < deadline { Thread.sleep(forTimeInterval: 0.001) }
        let paused = try h.call("run/pause", ["run": .string(run)])
        XCTAssertEqual(paused["state"], "paused")
        let pausedAt = try XCTUnwrap(paused["step"]?.int64Value)
        XCTAssertLessThan(pausedAt, Int64(steps) / 2, "paused mid-way")

        // While the run is paused at the saddle, escape/probe may step its model.
        let diagnosis = try h.call("diagnose", ["run": .string(run)])
        XCTAssertEqual(diagnosis["verdict"], "saddle")
        let stalled = try XCTUnwrap(diagnosis["evidenceInput"]?["loss"]?.doubleValue)
        let direction = try XCTUnwrap(diagnosis["negativeCurvatureDirection"])
        let probe = try h.call("escape/probe", ["model": "m1", "dataset": "d1", "direction": direction, "apply": true])
        XCTAssertEqual(probe["applied"], true)
        XCTAssertEqual(probe["run"]?.stringValue, run, "the step went into the paused run")
        let escaped = try XCTUnwrap(probe["newLoss"]?.doubleValue)
        XCTAssertLessThan(escaped, stalled, "the escape step lowers the loss")

        _ = try h.call("run/resume", ["run": .string(run)])
        let finishDeadline = Date().addingTimeInterval(60)
        while h.notifications("run/finished").isEmpty, Date() < finishDeadline { Thread.sleep(forTimeInterval: 0.002) }
        let points = try h.call("run/history", ["run": .string(run)])["points"]?.arrayValue ?? []
        let losses = points.compactMap { p -> (Int64, Double)? in
            guard let s = p["step"]?.int64Value, let l = p["loss"]?.doubleValue else { return nil }
            return (s, l)
        }
        XCTAssertEqual(losses.count, steps, "one run, every step recorded")
        let before = losses.filter { $0.0 < pausedAt }.map(\.1), after = losses.filter { $0.0 >= pausedAt }.map(\.1)
        let first = try XCTUnwrap(before.first)
        // Before the pause the loss is flat to 1e-6 relative: the run had stalled at the saddle.
        XCTAssertEqual(try XCTUnwrap(before.last), first, accuracy: 1e-6 * first)
        // The first step after the resume starts from the escaped point (the loss the probe measured, to
        // rounding), not from the stalled one, and the rest of the run leaves the saddle: well below half.
        XCTAssertEqual(try XCTUnwrap(after.first), escaped, accuracy: 1e-9 * stalled)
        XCTAssertLessThan(try XCTUnwrap(after.last), 0.5 * stalled)
    }

    func testEscapeIsRefusedWhileTheRunTrains() throws {
        let h = ServerHarness()
        _ = try h.call("dataset/generate", ["kind": "deepLinear", "inputs": 4, "outputs": 2, "samples": 64, "seed": 7])
        _ = try h.call(
            "model/create", ["spec": ["input": 4, "layers": [["kind": "dense", "units": 2]], "loss": "mse", "seed": 3]])
        let run = try XCTUnwrap(
            try h.call(
                "run/start",
                [
                    "model": "m1", "dataset": "d1", "optimizer": ["kind": "sgd", "lr": 0.01],
                    "pipeline": ["batchSize": 64, "faults": ["delayMs": 2]], "steps": 100_000,
                ])["run"]?.stringValue)
        XCTAssertEqual(h.errorCode("escape/probe", ["model": "m1", "dataset": "d1", "apply": true]), -31003)
        XCTAssertNotNil(
            try h.call("escape/probe", ["model": "m1", "dataset": "d1"])["applied"], "probing without apply is allowed")
        _ = try h.call("run/stop", ["run": .string(run)])
    }
}
