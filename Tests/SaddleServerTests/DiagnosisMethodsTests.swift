import Foundation
import XCTest
@testable import SaddleJSON
@testable import SaddleModels
@testable import SaddleRPC
@testable import SaddleServer
import SaddleTestSupport

/// `diagnose` and `escape/probe` through a real server and connection, on the ground-truth scenarios
/// (float64 JAX references, shared/scenarios/README.md). Verdicts come from measured evidence only.
final class DiagnosisMethodsTests: XCTestCase {
    /// Loads a scenario the way a user would (model/load + dataset/load); returns the scenario.
    @discardableResult
    private func load(_ name: String, into h: ServerHarness) throws -> Scenario {
        let scenario = try Scenario(named: name)
        _ = try h.call(
            "model/load",
            [
                "spec": scenario.spec.json, "name": .string(name),
                "weights": .string(scenario.folder.appendingPathComponent("weights.safetensors").path),
            ])
        var dataset: [String: JSON] = [
            "format": "npy", "name": .string(name),
            "inputs": .string(scenario.folder.appendingPathComponent("x.npy").path),
            "targets": .string(scenario.folder.appendingPathComponent("y.npy").path),
        ]
        if scenario.spec.loss == .softmaxCrossEntropy { dataset["classes"] = .int(scenario.spec.outputWidth) }
        _ = try h.call("dataset/load", .object(dataset))
        return scenario
    }

    private func number(_ json: JSON?) -> Double { json?.doubleValue ?? .nan }

    func testEveryScenarioGetsItsExpectedVerdict() throws {
        let h = ServerHarness()
        for name in try Scenarios.names {
            let scenario = try load(name, into: h)
            let result = try h.call("diagnose", ["model": .string(name), "dataset": .string(name)])
            let expected = scenario.expected["expected_verdict"]?.stringValue
            XCTAssertEqual(result["verdict"]?.stringValue, expected, "\(name): \(result["reason"]?.stringValue ?? "")")
            // λ_max and λ_min against the dense reference: the Lanczos residual bound is 1e-3·|λ|max (the
            // tolerance asked for); the eigenvalue error is at most the residual.
            let top = number(scenario.expected["hessian_top5"]?[0]), bottom = number(scenario.expected["hessian_bottom5"]?[0])
            let scale = max(abs(top), abs(bottom))
            let input = result["evidenceInput"]
            XCTAssertEqual(number(input?["lambdaMax"]), top, accuracy: 1e-3 * scale + 1e-12, name)
            // Ritz values lie inside the spectrum: the estimated λ_min is never below the true one.
            XCTAssertGreaterThanOrEqual(number(input?["lambdaMin"]), bottom - 1e-9 * max(scale, 1), name)
            XCTAssertEqual(
                number(input?["loss"]), number(scenario.expected["loss"]),
                accuracy: 1e-12 * max(1, number(scenario.expected["loss"])), name)
            XCTAssertEqual(number(input?["gradNorm"]), number(scenario.expected["grad_norm"]), accuracy: 1e-10, name)
            XCTAssertEqual(result["samplesUsed"]?.int64Value.map(Int.init), scenario.dataset.sampleCount, name)
            for item in result["evidence"]?.arrayValue ?? [] {
                XCTAssertNotNil(item["threshold"], "\(name): every evidence item carries its threshold")
                XCTAssertNotNil(item["pointsTo"]?.stringValue, "\(name): every evidence item says what it points to")
            }
            XCTAssertFalse(result["evidence"]?.arrayValue?.isEmpty ?? true, name)
            // Replaying the evidence it used gives the same diagnosis, to the last digit.
            let replay = try h.call("diagnose", ["evidence": input ?? .null])
            XCTAssertEqual(replay["verdict"], result["verdict"], name)
            XCTAssertEqual(replay["confidence"], result["confidence"], name)
            XCTAssertEqual(replay["evidence"], result["evidence"], name)
        }
    }

    func testStrictSaddleStoresItsNegativeCurvatureDirection() throws {
        let h = ServerHarness()
        try load("a1_linear2_origin_saddle", into: h)
        let result = try h.call("diagnose", ["model": "m1", "dataset": "d1"])
        XCTAssertEqual(result["verdict"], "saddle")
        // a1's eigenvalues are ±2·mean(xy) = ±4.543993112668907; a 2-dimensional Krylov space is exact.
        XCTAssertEqual(number(result["evidenceInput"]?["lambdaMin"]), -4.543993112668907, accuracy: 1e-9)
        XCTAssertEqual(
            number(result["evidenceInput"]?["escapeProbe"]?["bestDecrease"]) > 0, true,
            "a step along the negative-curvature eigenvector lowers the loss")
        XCTAssertNil(result["evidenceInput"]?["perturbationProbe"], "clear negative curvature needs no perturbation probe")
        guard let id = result["negativeCurvatureDirection"]?.stringValue else { return XCTFail("no direction stored") }
        let direction = try h.server.workspace.direction(id, model: "m1")
        XCTAssertEqual(direction.eigenvalue ?? 0, -4.543993112668907, accuracy: 1e-9)
        XCTAssertEqual(direction.vector.reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-12, "a unit Ritz vector")
        XCTAssertTrue(result["recommendations"]?.arrayValue?.contains { $0["id"] == "negativeCurvatureStep" } ?? false)
        XCTAssertEqual(result["lanczos"]?["tolerance"], 1e-3)
    }

    func testHigherOrderSaddleIsFoundByThePerturbationProbe() throws {
        let h = ServerHarness()
        try load("a2_deeplinear3_zero", into: h)
        let result = try h.call("diagnose", ["model": "m1", "dataset": "d1"])
        XCTAssertEqual(result["verdict"], "saddle")
        let input = result["evidenceInput"]
        // Gradient and Hessian vanish exactly at the all-zero point of a three-layer linear net.
        XCTAssertEqual(number(input?["gradNorm"]), 0)
        XCTAssertEqual(number(input?["lambdaMax"]), 0)
        XCTAssertEqual(number(input?["lambdaMin"]), 0)
        XCTAssertNil(result["negativeCurvatureDirection"], "no negative eigenvalue, so no direction")
        let probe = input?["perturbationProbe"]
        XCTAssertEqual(probe?["probes"], 8)
        // escapeDecrease · max(1, |f|) = 1e-8 · 4.63: a third-order descent from radius 0.05 clears it by far.
        XCTAssertGreaterThan(number(probe?["bestDecrease"]), 1e-8 * 4.633011195385504)
        XCTAssertTrue(
            result["evidence"]?.arrayValue?.contains { $0["name"] == "perturbationProbe" && $0["decisive"] == true } ?? false,
            "the verdict rests on the probe: \(result["evidence"] ?? .null)")
        // Turning the probe off leaves only a flat spectrum: a plateau, as the procedure documents (4c).
        let off = try h.call("diagnose", ["model": "m1", "dataset": "d1", "probes": ["perturbation": false]])
        XCTAssertEqual(off["verdict"], "plateau")
    }

    func testThresholdOverridesChangeTheVerdictAsDocumented() throws {
        let h = ServerHarness()
        try load("d_xor_mlp_2_16_16_1_tanh_init", into: h)
        try load("b1_linear2_global_min", into: h)
        XCTAssertEqual(try h.call("diagnose", ["model": "m1", "dataset": "d1"])["verdict"], "progressing")
        // ‖g‖ = 1.354 ≤ 10·max(1, f): the gradient now counts as small, and λ_min = −2.32 < −1e-4·11.68 → saddle (4a).
        let small = try h.call("diagnose", ["model": "m1", "dataset": "d1", "thresholds": ["smallGradientAbsolute": 10]])
        XCTAssertEqual(small["verdict"], "saddle")
        XCTAssertEqual(number(small["thresholds"]?["smallGradientAbsolute"]), 10)
        // b1: |λ|max = 9.09 ≤ 10·max(1, f) makes the whole spectrum "≈ 0" → plateau (4c) instead of localMinimum (4d).
        XCTAssertEqual(try h.call("diagnose", ["model": "m2", "dataset": "d2"])["verdict"], "localMinimum")
        XCTAssertEqual(
            try h.call("diagnose", ["model": "m2", "dataset": "d2", "thresholds": ["flatSpectrum": 10]])["verdict"], "plateau")
    }

    func testBadThresholdsAndParamsAreRefused() throws {
        let h = ServerHarness()
        try load("a1_linear2_origin_saddle", into: h)
        let unknown = h.answer("diagnose", ["model": "m1", "dataset": "d1", "thresholds": ["negativeCurvatur": 1e-3]])
        XCTAssertEqual(unknown["error"]?["code"], -32602)
        let message = unknown["error"]?["message"]?.stringValue ?? ""
        XCTAssertTrue(
            message.contains("negativeCurvatur") && message.contains("negativeCurvature,")
                && message.contains("labelEntropy"), message)
        XCTAssertEqual(h.errorCode("diagnose", ["model": "m1", "dataset": "d1", "thresholds": ["deadFraction": 2]]), -32602)
        XCTAssertEqual(h.errorCode("diagnose", ["model": "m1"]), -32602, "a point needs a data set")
        XCTAssertEqual(h.errorCode("diagnose", [:]), -32602)
        XCTAssertEqual(h.errorCode("diagnose", ["evidence": ["gradNorm": 1], "model": "m1"]), -32602, "one form at a time")
        XCTAssertEqual(h.errorCode("diagnose", ["evidence": ["gradNrm": 1]]), -32602)
        XCTAssertEqual(
            h.errorCode("diagnose", ["model": "m1", "dataset": "d1", "batchSize": 20]), -32602,
            "24 samples hold one disjoint batch of 20; noise needs two")
        XCTAssertEqual(h.errorCode("diagnose", ["model": "m9", "dataset": "d1"]), -31001)
        XCTAssertEqual(h.errorCode("escape/probe", ["model": "m1", "dataset": "d1", "stepSizes": [0.1, -1]]), -32602)
        XCTAssertEqual(h.errorCode("escape/probe", ["model": "m1", "dataset": "d1", "direction": "v99"]), -31001)
    }

    func testEvidenceAloneDiagnosesADataPipelineStall() throws {
        let h = ServerHarness()
        // 30 steps, loss flat, each waiting 0.08 s for data and computing 0.02 s: data-wait share 0.8 ≥ 0.5.
        let history: [JSON] = (0..<30).map { step in
            ["step": .int(step), "loss": 0.7, "gradNorm": 0.5, "lr": 0.01, "dataWaitSeconds": 0.08, "computeSeconds": 0.02]
        }
        let result = try h.call("diagnose", ["evidence": ["history": .array(history)]])
        XCTAssertEqual(result["verdict"], "dataPipelineStall")
        let item = result["evidence"]?.arrayValue?.first { $0["name"] == "dataWaitShare" }
        XCTAssertEqual(number(item?["value"]), 0.8, accuracy: 1e-12, "Σ wait / Σ (wait + compute) over the window")
        XCTAssertEqual(item?["threshold"], 0.5)
        XCTAssertEqual(item?["pointsTo"], "dataPipelineStall")
        XCTAssertTrue(result["recommendations"]?.arrayValue?.contains { $0["id"] == "dataLoader" } ?? false)
        XCTAssertNil(result["samplesUsed"], "no model was evaluated")
        XCTAssertNotNil(result["evidenceInput"]?["history"])
        // Raising the threshold above the measured share removes the stall.
        let raised = try h.call("diagnose", ["evidence": ["history": .array(history)], "thresholds": ["dataWaitShare": 0.9]])
        XCTAssertNotEqual(raised["verdict"], "dataPipelineStall")
    }

    func testNoiseStatisticsFromDisjointBatches() throws {
        let h = ServerHarness()
        try load("d_xor_mlp_2_16_16_1_tanh_init", into: h)
        let scenario = try Scenario(named: "d_xor_mlp_2_16_16_1_tanh_init")
        let b = scenario.dataset.sampleCount / 4
        let result = try h.call("diagnose", ["model": "m1", "dataset": "d1", "batchSize": .int(b)])
        // Recompute the statistics from the batch gradients by hand (Objective on each quarter).
        var gradients: [[Double]] = []
        for k in 0..<4 {
            let o = try Objective(
                model: scenario.model, dataset: scenario.dataset,
                samples: .range(start: k * b, count: b), precision: .double)
            gradients.append(try o.gradient(scenario.model.parameters).gradient)
        }
        var cosines: [Double] = []
        func dot(_ a: [Double], _ c: [Double]) -> Double { zip(a, c).reduce(0) { $0 + $1.0 * $1.1 } }
        for i in 0..<4 {
            for j in (i + 1)..<4 {
                cosines.append(
                    dot(gradients[i], gradients[j])
                        / (dot(gradients[i], gradients[i]) * dot(gradients[j], gradients[j])).squareRoot())
            }
        }
        let cosine = cosines.reduce(0, +) / Double(cosines.count)
        XCTAssertEqual(
            number(result["evidenceInput"]?["gradientCosine"]), cosine, accuracy: 1e-12,
            "same formula, same order of sums up to rounding")
        XCTAssertEqual(result["noise"]?["batches"], 4)
        XCTAssertEqual(result["evidenceInput"]?["batchSize"]?.int64Value.map(Int.init), b)
        XCTAssertNotNil(result["timings"]?["noise"])
    }

    func testEscapeProbeLowersTheLossAtASaddleAndApplies() throws {
        let h = ServerHarness()
        let scenario = try load("a1_linear2_origin_saddle", into: h)
        let probe = try h.call("escape/probe", ["model": "m1", "dataset": "d1"])
        XCTAssertEqual(probe["stepSizes"]?.arrayValue?.count, 7, "half decades 1e-3 … 1 × max(1, ‖θ‖ = 0)")
        XCTAssertEqual(number(probe["eigenvalue"]), -4.543993112668907, accuracy: 1e-9)
        XCTAssertGreaterThan(number(probe["bestDecrease"]), 0)
        XCTAssertEqual(probe["applied"], false)
        XCTAssertEqual(h.server.workspace.directions(model: "m1").count, 1, "the computed eigenvector is kept")
        // Along the unit eigenvector of λ at θ = 0: f(t) = f(0) + λ/2·t² + O(t⁴); at t = 1e-3 the quartic is 1e-12 smaller.
        XCTAssertEqual(number(probe["baseLoss"]) - number(probe["lossPlus"]?[0]), 4.543993112668907 / 2 * 1e-6, accuracy: 1e-10)

        let applied = try h.call("escape/probe", ["model": "m1", "dataset": "d1", "apply": true])
        XCTAssertEqual(applied["applied"], true)
        let after = try h.server.workspace.model("m1").model
        let loss = try Objective(model: after, dataset: scenario.dataset, precision: .double).loss(after.parameters)
        XCTAssertLessThan(loss, number(scenario.expected["loss"]) - 1e-3, "the model moved downhill")
        XCTAssertEqual(loss, number(applied["newLoss"]), accuracy: 1e-12, "newLoss is the model's loss now")
        XCTAssertEqual(
            abs(number(applied["bestStep"])), after.parameters.reduce(0) { $0 + $1 * $1 }.squareRoot(), accuracy: 1e-12,
            "from θ = 0 the step length is ‖θ_new‖")
    }

    func testEscapeProbeFindsNoDecreaseAtAMinimum() throws {
        let h = ServerHarness()
        let scenario = try load("b1_linear2_global_min", into: h)
        let probe = try h.call("escape/probe", ["model": "m1", "dataset": "d1", "apply": true])
        // Along the valley's null direction the loss rises at fourth order; rounding stays below 1e-8·max(1, f).
        XCTAssertLessThanOrEqual(number(probe["bestDecrease"]), 1e-8)
        XCTAssertEqual(probe["applied"], false)
        XCTAssertEqual(try h.server.workspace.model("m1").model.parameters, scenario.model.parameters, "nothing moved")
        XCTAssertEqual(number(probe["newLoss"]), number(probe["baseLoss"]))
    }

    func testApplyIsRefusedWhileARunTrainsTheModel() throws {
        let h = ServerHarness()
        try load("a1_linear2_origin_saddle", into: h)
        try h.server.workspace.setTrainingRun(model: "m1", run: "r1")
        XCTAssertEqual(h.errorCode("escape/probe", ["model": "m1", "dataset": "d1", "apply": true]), -31003)
        XCTAssertEqual(
            try h.call("escape/probe", ["model": "m1", "dataset": "d1"])["applied"], false, "probing alone is allowed")
        XCTAssertEqual(try h.server.workspace.model("m1").model.parameters, [0, 0])
    }

    func testProgressAndCancellation() throws {
        let h = ServerHarness()
        try load("a1_linear2_origin_saddle", into: h)
        _ = try h.call("diagnose", ["model": "m1", "dataset": "d1", "workDoneToken": "t1"])
        let progress = h.notifications("$/progress").filter { $0["params"]?["token"] == "t1" }
        XCTAssertEqual(progress.first?["params"]?["value"]?["kind"], "begin")
        XCTAssertEqual(progress.last?["params"]?["value"]?["kind"], "end")
        XCTAssertGreaterThan(progress.count, 2, "reports between begin and end")

        // A diagnosis that takes seconds in a debug build (ids: 4 dataset/generate, 5 model/create, 6 diagnose).
        let c = ServerHarness()
        _ = try c.call(
            "dataset/generate", ["kind": "gaussianMixture", "dimensions": 64, "classes": 10, "samples": 2048, "seed": 1])
        _ = try c.call(
            "model/create",
            [
                "spec": [
                    "input": 64,
                    "layers": [
                        ["kind": "dense", "units": 128, "activation": "relu"],
                        ["kind": "dense", "units": 10],
                    ],
                    "loss": "softmaxCrossEntropy", "seed": 1,
                ]
            ])
        let connection = c.connection
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) {
            let cancel: JSON = ["jsonrpc": "2.0", "method": "$/cancelRequest", "params": ["id": 4]]
            FrameEncoder.encode(try! cancel.serialized()).withUnsafeBytes { connection.receive($0) }
        }
        let start = Date()
        let answer = c.answer("diagnose", ["model": "m1", "dataset": "d1", "batchSize": 128, "maxIterations": 200])
        XCTAssertEqual(answer["error"]?["code"], -32800)
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
        // The daemon keeps serving after the cancellation.
        XCTAssertNotNil(try c.call("model/list")["models"])
    }
}
