import Foundation
import XCTest
@testable import SaddleJSON
@testable import SaddleRPC
@testable import SaddleServer
import SaddleTestSupport

/// The curvature family through a real server and connection, against the ground-truth scenarios
/// (float64 JAX dense Hessians) and exact identities.
final class CurvatureMethodsTests: XCTestCase {
    /// Loads `scenario` with model/load and dataset/load the way a client would; returns the model and data-set ids.
    private func load(_ scenario: Scenario, into h: ServerHarness) throws -> (model: String, dataset: String) {
        let model = try h.call(
            "model/load",
            [
                "spec": scenario.spec.json,
                "weights": .string(scenario.folder.appendingPathComponent("weights.safetensors").path),
            ])
        var params: [String: JSON] = [
            "format": "npy", "inputs": .string(scenario.folder.appendingPathComponent("x.npy").path),
            "targets": .string(scenario.folder.appendingPathComponent("y.npy").path),
        ]
        if scenario.spec.loss == .softmaxCrossEntropy { params["classes"] = .int(scenario.spec.outputWidth) }
        let dataset = try h.call("dataset/load", .object(params))
        return (try XCTUnwrap(model["id"]?.stringValue), try XCTUnwrap(dataset["id"]?.stringValue))
    }

    private func values(_ entries: JSON?) -> [Double] { entries?.arrayValue?.compactMap { $0["value"]?.doubleValue } ?? [] }

    // MARK: eigen

    /// Top and bottom five of an indefinite 337-parameter Hessian: 1e-6 of the spectrum scale in double (Lanczos is
    /// run to 1e-10, so the eigenvalue error is far below it), 1e-3 in float (single-precision products).
    func testEigenMatchesDenseReferenceInDoubleAndFloat() throws {
        let scenario = try Scenario(named: "d_xor_mlp_2_16_16_1_tanh_init")
        let h = ServerHarness()
        let (m, d) = try load(scenario, into: h)
        let top = try scenario.hessianTop5, bottom = try scenario.hessianBottom5
        let scale = max(abs(top[0]), abs(bottom[0]))
        for (precision, tolerance) in [("double", 1e-6), ("float", 1e-3)] {
            let result = try h.call(
                "curvature/eigen",
                [
                    "model": .string(m), "dataset": .string(d), "largest": 5, "smallest": 5,
                    "tolerance": precision == "double" ? 1e-10 : 1e-5, "precision": .string(precision),
                ])
            let largest = values(result["largest"]), smallest = values(result["smallest"])
            XCTAssertEqual(largest.count, 5)
            XCTAssertEqual(smallest.count, 5)
            for i in 0..<5 {
                XCTAssertEqual(largest[i], top[i], accuracy: tolerance * scale, "\(precision) λ_max[\(i)]")
                XCTAssertEqual(smallest[i], bottom[i], accuracy: tolerance * scale, "\(precision) λ_min[\(i)]")
            }
            XCTAssertEqual(result["samplesUsed"], 4)
            XCTAssertEqual(result["precision"]?.stringValue, precision)
            XCTAssertEqual(result["operator"], "hessian")
            XCTAssertEqual(try XCTUnwrap(result["spectrumScale"]?.doubleValue), scale, accuracy: tolerance * scale)
            XCTAssertTrue(
                result["notes"]?.arrayValue?.contains { $0.stringValue?.contains("repeated eigenvalue") ?? false } ?? false)
            XCTAssertGreaterThan(result["products"]?.int64Value ?? 0, 0)
        }
    }

    /// Power iteration agrees with the dense reference at both ends (to its relative-change tolerance).
    func testPowerIterationFindsBothEnds() throws {
        let scenario = try Scenario(named: "d_xor_mlp_2_16_16_1_tanh_init")
        let h = ServerHarness()
        let (m, d) = try load(scenario, into: h)
        let result = try h.call(
            "curvature/eigen",
            [
                "model": .string(m), "dataset": .string(d), "method": "power",
                "tolerance": 1e-9, "maxIterations": 5000,
            ])
        // Relative change 1e-9 per step leaves an error of order 1e-9/(1 − ratio) relative; 1e-4 of the scale is ample.
        XCTAssertEqual(values(result["largest"]).first ?? .nan, try scenario.hessianTop5[0], accuracy: 1e-4 * 11.7)
        XCTAssertEqual(values(result["smallest"]).first ?? .nan, try scenario.hessianBottom5[0], accuracy: 1e-4 * 11.7)
        XCTAssertEqual(result["method"], "power")
    }

    /// A zero Hessian gives exact zeros; k beyond the parameter count is clamped with a note.
    func testDegenerateInputs() throws {
        let h = ServerHarness()
        let zero = try load(try Scenario(named: "a2_deeplinear3_zero"), into: h)
        let z = try h.call("curvature/eigen", ["model": .string(zero.model), "dataset": .string(zero.dataset)])
        XCTAssertEqual(values(z["largest"]), [0], "the Hessian is exactly 0 at the all-zero deep linear net")
        XCTAssertEqual(values(z["smallest"]), [0])
        XCTAssertEqual(z["stopReason"], "invariantSubspace")

        let a1 = try Scenario(named: "a1_linear2_origin_saddle")
        let small = try load(a1, into: h)
        let r = try h.call(
            "curvature/eigen", ["model": .string(small.model), "dataset": .string(small.dataset), "largest": 5, "smallest": 5])
        XCTAssertEqual(values(r["largest"]).count, 2, "clamped to the 2 parameters")
        XCTAssertEqual(values(r["largest"]).first ?? .nan, try a1.hessianTop5[0], accuracy: 1e-12 * 4.6, "2 steps span ℝ², exact")
        XCTAssertTrue(r["notes"]?.arrayValue?.contains { $0.stringValue?.contains("clamped") ?? false } ?? false)
    }

    /// The Gauss–Newton matrix of softmax regression equals its Hessian (the model is linear in its parameters).
    func testGaussNewtonEqualsHessianForLinearModel() throws {
        let scenario = try Scenario(named: "c_logreg_converged")
        let h = ServerHarness()
        let (m, d) = try load(scenario, into: h)
        let gn = try h.call(
            "curvature/eigen", ["model": .string(m), "dataset": .string(d), "operator": "gaussNewton", "smallest": 0])
        XCTAssertEqual(values(gn["largest"]).first ?? .nan, try scenario.hessianTop5[0], accuracy: 1e-6 * 0.288)
        XCTAssertEqual(gn["operator"], "gaussNewton")
    }

    /// Lanczos' basis is checked against --max-lanczos-bytes before any work: 100 vectors × 337 doubles.
    func testLanczosMemoryLimitIsRefused() throws {
        var configuration = ServerConfiguration()
        configuration.limits.maxLanczosBytes = 1000
        let h = ServerHarness(configuration: configuration)
        let (m, d) = try load(try Scenario(named: "d_xor_mlp_2_16_16_1_tanh_init"), into: h)
        let answer = h.answer("curvature/eigen", ["model": .string(m), "dataset": .string(d)])
        XCTAssertEqual(answer["error"]?["code"], -31002)
        XCTAssertTrue(answer["error"]?["message"]?.stringValue?.contains("--max-lanczos-bytes") ?? false)
        XCTAssertEqual(answer["error"]?["data"]?["requested"], .int(100 * 337 * 8))
        XCTAssertEqual(
            h.errorCode("curvature/density", ["model": .string(m), "dataset": .string(d)]), -31002, "SLQ keeps a basis too")
    }

    /// Products that overflow are a numerical error naming the product, not NaN eigenvalues.
    func testNonFiniteProductsAreNumericalErrors() throws {
        let h = ServerHarness()
        let huge: JSON = ["kind": "constant", "value": 1e200]
        _ = try h.call(
            "model/create",
            [
                "spec": [
                    "input": 2,
                    "layers": [["kind": "dense", "units": 2, "init": huge], ["kind": "dense", "units": 1, "init": huge]],
                    "loss": "mse",
                ]
            ])
        _ = try h.call(
            "dataset/generate", ["kind": "teacherStudent", "inputs": 2, "outputs": 1, "samples": 8, "labels": "regression"])
        let answer = h.answer("curvature/eigen", ["model": "m1", "dataset": "d1"])
        XCTAssertEqual(answer["error"]?["code"], -31005)
        XCTAssertTrue(answer["error"]?["message"]?.stringValue?.contains("product 1") ?? false, "\(answer)")
    }

    // MARK: gradient, trace, density, hvp

    /// Loss and gradient norm equal the float64 references to 1e-9 (both are exact full-batch sums).
    func testGradientMatchesEveryScenario() throws {
        for scenario in try Scenario.all() {
            let h = ServerHarness()
            let (m, d) = try load(scenario, into: h)
            let r = try h.call("curvature/gradient", ["model": .string(m), "dataset": .string(d)])
            XCTAssertEqual(
                r["loss"]?.doubleValue ?? .nan, scenario.expected["loss"]?.doubleValue ?? 0, accuracy: 1e-9, scenario.name)
            XCTAssertEqual(r["gradientNorm"]?.doubleValue ?? .nan, try scenario.gradNorm, accuracy: 1e-9, scenario.name)
            XCTAssertEqual(r["blocks"]?.arrayValue?.count, scenario.model.blocks.count)
            let blockNorms = r["blocks"]?.arrayValue?.compactMap { $0["gradientNorm"]?.doubleValue } ?? []
            XCTAssertEqual(
                blockNorms.reduce(0) { $0 + $1 * $1 }.squareRoot(), r["gradientNorm"]?.doubleValue ?? .nan, accuracy: 1e-12)
            XCTAssertEqual(r["samplesUsed"]?.int64Value, Int64(scenario.dataset.sampleCount))
        }
    }

    /// Hutchinson's estimate lies within 3 standard errors of the exact trace; subsets report a spread.
    func testTraceWithinThreeStandardErrors() throws {
        let scenario = try Scenario(named: "d_xor_mlp_2_16_16_1_tanh_init")
        let h = ServerHarness()
        let (m, d) = try load(scenario, into: h)
        let r = try h.call("curvature/trace", ["model": .string(m), "dataset": .string(d), "probes": 200, "seed": 7])
        let estimate = try XCTUnwrap(r["estimate"]?.doubleValue), se = try XCTUnwrap(r["standardError"]?.doubleValue)
        XCTAssertEqual(estimate, try scenario.hessianTrace, accuracy: 3 * se)
        XCTAssertEqual(r["products"], 200)
        let u = try h.call("curvature/trace", ["model": .string(m), "dataset": .string(d), "probes": 20, "subsets": 2])
        XCTAssertEqual(u["uncertainty"]?["values"]?.arrayValue?.count, 2)
        XCTAssertEqual(u["uncertainty"]?["samplesPerSubset"], [2, 2])
    }

    /// SLQ: the broadened density integrates to 1. With as many steps as parameters, the Krylov space closes (rank 173
    /// + the null space), the nodes are exact eigenvalues, and the weight below zero matches the fraction of negative
    /// eigenvalues (96 of 337) within 0.04 (20 probes: the per-probe spread √(2f(1−f)/n) ≈ 0.035 shrinks to ≈ 0.008).
    /// The density's negative mass adds about half the zero eigenvalues' weight (a zero node is split by the broadening).
    /// With the default 80 steps, nodes near 0 mix the null space with small eigenvalues of either sign, so the weight
    /// below zero can only be bracketed by [negative, negative + zero].
    func testDensityIntegratesToOneAndCountsNegativeMass() throws {
        let scenario = try Scenario(named: "d_xor_mlp_2_16_16_1_tanh_init")
        let counts = try scenario.eigenvalueCounts
        let n = Double(counts.negative + counts.zero + counts.positive)
        let h = ServerHarness()
        let (m, d) = try load(scenario, into: h)
        let r = try h.call(
            "curvature/density", ["model": .string(m), "dataset": .string(d), "probes": 20, "steps": 337, "seed": 3])
        XCTAssertEqual(r["integral"]?.doubleValue ?? .nan, 1, accuracy: 1e-3)
        XCTAssertEqual(r["grid"]?.arrayValue?.count, 200)
        let negative = Double(counts.negative) / n, zero = Double(counts.zero) / n
        let fromWeights = try XCTUnwrap(r["negativeMass"]?["fromWeights"]?.doubleValue)
        XCTAssertEqual(fromWeights, negative, accuracy: 0.04)
        let fromDensity = try XCTUnwrap(r["negativeMass"]?["fromDensity"]?.doubleValue)
        XCTAssertGreaterThan(fromDensity, negative - 0.04)
        XCTAssertLessThan(fromDensity, negative + zero / 2 + 0.04)
        let weights = r["weights"]?.arrayValue?.compactMap(\.doubleValue) ?? []
        XCTAssertEqual(weights.reduce(0, +), 1, accuracy: 1e-12)
        let coarse = try h.call("curvature/density", ["model": .string(m), "dataset": .string(d), "probes": 20, "seed": 3])
        XCTAssertEqual(coarse["integral"]?.doubleValue ?? .nan, 1, accuracy: 1e-3)
        let coarseNegative = try XCTUnwrap(coarse["negativeMass"]?["fromWeights"]?.doubleValue)
        XCTAssertGreaterThan(coarseNegative, negative - 0.04)
        XCTAssertLessThan(coarseNegative, negative + zero + 0.04)
    }

    /// H·v equals the JAX reference to 1e-9 relative (exact R-operator, double precision).
    func testHVPMatchesReference() throws {
        let scenario = try Scenario(named: "d_xor_mlp_2_16_16_1_tanh_init")
        let h = ServerHarness()
        let (m, d) = try load(scenario, into: h)
        let v = try scenario.array("hvp_v.npy").doubles, hv = try scenario.array("hvp_hv.npy").doubles
        let r = try h.call("curvature/hvp", ["model": .string(m), "dataset": .string(d), "vector": .numbers(v)])
        let product = r["product"]?.arrayValue?.compactMap(\.doubleValue) ?? []
        XCTAssertEqual(product.count, hv.count)
        let scale = hv.reduce(0) { max($0, abs($1)) }
        for i in hv.indices { XCTAssertEqual(product[i], hv[i], accuracy: 1e-9 * scale, "entry \(i)") }
        XCTAssertEqual(r["loss"]?.doubleValue ?? .nan, scenario.expected["loss"]?.doubleValue ?? 0, accuracy: 1e-12)
    }

    // MARK: directions and landscape

    /// Eigenvectors kept as directions drive a 1-D slice. For y = w₂w₁x at the origin, along a unit eigenvector with
    /// eigenvalue λ the loss is exactly L₀ + ½λα² + α⁴·mean(x²)/4 (w₂w₁ = ±α²/2), so the slice is checked to 1e-12.
    func testKeptEigenvectorsDriveLandscape() throws {
        let scenario = try Scenario(named: "a1_linear2_origin_saddle")
        let h = ServerHarness()
        let (m, d) = try load(scenario, into: h)
        let eigen = try h.call("curvature/eigen", ["model": .string(m), "dataset": .string(d), "keepVectors": true])
        let id = try XCTUnwrap(eigen["smallest"]?[0]?["direction"]?.stringValue)
        let lambda = try XCTUnwrap(eigen["smallest"]?[0]?["value"]?.doubleValue)
        let slice = try h.call(
            "curvature/landscape",
            [
                "model": .string(m), "dataset": .string(d), "directions": [.string(id)], "points": 5,
                "range": [-1, 1],
            ])
        let loss0 = try XCTUnwrap(scenario.expected["loss"]?.doubleValue)
        XCTAssertEqual(slice["centerLoss"]?.doubleValue ?? .nan, loss0, accuracy: 1e-12)
        let inputs = scenario.dataset.inputs
        let meanSquare = inputs.reduce(0) { $0 + $1 * $1 } / Double(inputs.count)
        let alphas = slice["alphas"]?.arrayValue?.compactMap(\.doubleValue) ?? []
        let losses = slice["losses"]?.arrayValue?.compactMap(\.doubleValue) ?? []
        XCTAssertEqual(alphas, [-1, -0.5, 0, 0.5, 1])
        for (a, l) in zip(alphas, losses) {
            XCTAssertEqual(l, loss0 + 0.5 * lambda * a * a + a * a * a * a * meanSquare / 4, accuracy: 1e-12, "α = \(a)")
        }
        XCTAssertEqual(slice["directions"], [.string(id)])
    }

    /// Random filter-normalized directions are stored and reusable; a 2-D slice has points × points losses.
    func testRandomDirectionsAreStoredAndReusable() throws {
        let scenario = try Scenario(named: "d_xor_mlp_2_16_16_1_tanh_init")
        let h = ServerHarness()
        let (m, d) = try load(scenario, into: h)
        let plane = try h.call("curvature/landscape", ["model": .string(m), "dataset": .string(d), "dimensions": 2, "points": 3])
        let ids = plane["directions"]?.arrayValue ?? []
        XCTAssertEqual(ids.count, 2)
        XCTAssertEqual(plane["losses"]?.arrayValue?.count, 3)
        XCTAssertEqual(
            plane["losses"]?[1]?[1]?.doubleValue ?? .nan, scenario.expected["loss"]?.doubleValue ?? 0, accuracy: 1e-12,
            "the middle of the plane is the current point")
        let line = try h.call(
            "curvature/landscape", ["model": .string(m), "dataset": .string(d), "directions": [ids[0]], "points": 3])
        XCTAssertEqual(line["losses"]?[0], plane["losses"]?[0]?[1], "the stored direction reproduces the plane's α axis")
    }

    // MARK: blocks

    /// For 1×1 blocks the block eigenvalue is the Hessian's diagonal entry (dense reference), exactly.
    func testBlocksMatchDiagonalOfOneByOneBlocks() throws {
        let scenario = try Scenario(named: "b1_linear2_global_min")
        let hessian = try scenario.array("hessian.npy").doubles
        let h = ServerHarness()
        let (m, d) = try load(scenario, into: h)
        let r = try h.call("curvature/blocks", ["model": .string(m), "dataset": .string(d), "trace": true, "probes": 4])
        let blocks = r["blocks"]?.arrayValue ?? []
        XCTAssertEqual(blocks.count, 2)
        for (i, block) in blocks.enumerated() {
            XCTAssertEqual(values(block["largest"]).first ?? .nan, hessian[i * 2 + i], accuracy: 1e-12, "block \(i)")
            XCTAssertEqual(
                block["trace"]?["estimate"]?.doubleValue ?? .nan, hessian[i * 2 + i], accuracy: 1e-12,
                "Rademacher probes are exact on a 1×1 block")
        }
        let restricted = try h.call("curvature/eigen", ["model": .string(m), "dataset": .string(d), "block": "1.weight"])
        XCTAssertEqual(values(restricted["largest"]).first ?? .nan, hessian[3], accuracy: 1e-12)
        XCTAssertEqual(restricted["block"]?["offset"], 1)
    }

    // MARK: protocol behaviour

    func testBadParamsAndUnknownObjects() throws {
        let h = ServerHarness()
        let (m, d) = try load(try Scenario(named: "a1_linear2_origin_saddle"), into: h)
        let base: [String: JSON] = ["model": .string(m), "dataset": .string(d)]
        func with(_ extra: [String: JSON]) -> JSON { .object(base.merging(extra) { _, b in b }) }
        let negative = h.answer("curvature/eigen", with(["largest": -1]))
        XCTAssertEqual(negative["error"]?["code"], -32602)
        XCTAssertTrue(negative["error"]?["message"]?.stringValue?.contains("params.largest") ?? false)
        XCTAssertEqual(h.errorCode("curvature/eigen", with(["tolerence": 1e-3])), -32602, "misspelt fields are refused")
        XCTAssertEqual(h.errorCode("curvature/eigen", with(["method": "arnoldi"])), -32602)
        let block = h.answer("curvature/eigen", with(["block": "9.weight"]))
        XCTAssertTrue(block["error"]?["message"]?.stringValue?.contains("params.block") ?? false)
        XCTAssertEqual(h.errorCode("curvature/eigen", ["model": "nope", "dataset": .string(d)]), -31001)
        XCTAssertEqual(h.errorCode("curvature/hvp", with(["direction": "v99"])), -31001)
        XCTAssertEqual(h.errorCode("curvature/hvp", with(["vector": [1, 2, 3]])), -32602)
        XCTAssertEqual(h.errorCode("curvature/noise", .object(base)), -32602, "batchSize is required")
        XCTAssertEqual(h.errorCode("curvature/noise", with(["batchSize": 8, "batches": 4])), -32602, "32 samples from 16")
        XCTAssertEqual(h.errorCode("curvature/landscape", with(["points": 500])), -32602)
    }

    /// Noise statistics on generated data: the formulas tie together (tr Σ = b·S, B_simple = tr Σ/‖G‖²).
    func testNoiseStatisticsAreConsistent() throws {
        let h = ServerHarness()
        _ = try h.call(
            "model/create",
            [
                "spec": [
                    "input": 2, "layers": [["kind": "dense", "units": 8, "activation": "tanh"], ["kind": "dense", "units": 3]],
                    "loss": "softmaxCrossEntropy", "seed": 1,
                ]
            ])
        _ = try h.call("dataset/generate", ["kind": "gaussianMixture", "dimensions": 2, "classes": 3, "samples": 256, "seed": 2])
        let r = try h.call("curvature/noise", ["model": "m1", "dataset": "d1", "batchSize": 16, "batches": 8, "seed": 5])
        let trace = try XCTUnwrap(r["covarianceTrace"]?.doubleValue),
            variance = try XCTUnwrap(r["batchGradientVariance"]?.doubleValue)
        let norm = try XCTUnwrap(r["meanGradientNorm"]?.doubleValue)
        XCTAssertEqual(trace, 16 * variance, accuracy: 1e-12 * trace)
        XCTAssertEqual(r["simpleNoiseScale"]?.doubleValue ?? .nan, trace / (norm * norm), accuracy: 1e-9 * trace / (norm * norm))
        XCTAssertEqual(r["samplesUsed"], 128)
        XCTAssertEqual(r["batches"], 8)
        let again = try h.call("curvature/noise", ["model": "m1", "dataset": "d1", "batchSize": 16, "batches": 8, "seed": 5])
        XCTAssertEqual(again, r, "the seed fixes the batches")
    }

    /// `$/progress` begin, report(s), end for a work-done token.
    func testProgressForWorkDoneToken() throws {
        let h = ServerHarness()
        let (m, d) = try load(try Scenario(named: "d_xor_mlp_2_16_16_1_tanh_init"), into: h)
        _ = try h.call("curvature/eigen", ["model": .string(m), "dataset": .string(d), "workDoneToken": "eig"])
        let kinds = h.notifications("$/progress", wait: 0.1).filter { $0["params"]?["token"] == "eig" }
            .compactMap { $0["params"]?["value"]?["kind"]?.stringValue }
        XCTAssertEqual(kinds.first, "begin")
        XCTAssertEqual(kinds.last, "end")
        XCTAssertTrue(kinds.contains("report"))
    }

    /// A long Lanczos run (5,699 parameters, 2,000 samples, tolerance 0) stops promptly with -32800 once cancelled.
    func testCancellingLongEigenRun() throws {
        let h = ServerHarness()
        _ = try h.call(
            "model/create",
            [
                "spec": [
                    "input": 20,
                    "layers": [
                        ["kind": "dense", "units": 64, "activation": "tanh"],
                        ["kind": "dense", "units": 64, "activation": "tanh"],
                        ["kind": "dense", "units": 3],
                    ],
                    "loss": "softmaxCrossEntropy", "seed": 1,
                ]
            ])
        _ = try h.call(
            "dataset/generate", ["kind": "gaussianMixture", "dimensions": 20, "classes": 3, "samples": 2000, "seed": 2])
        // ids so far: initialize 1, model/create 2, dataset/generate 3; the eigen request is 4.
        let done = expectation(description: "answer")
        nonisolated(unsafe) var answer: JSON = .null
        DispatchQueue.global().async {
            answer = h.answer("curvature/eigen", ["model": "m1", "dataset": "d1", "tolerance": 0, "maxIterations": 5000])
            done.fulfill()
        }
        Thread.sleep(forTimeInterval: 0.5)
        let cancelled = Date()
        let frame = try JSON.object(["jsonrpc": "2.0", "method": "$/cancelRequest", "params": ["id": 4]]).serialized()
        FrameEncoder.encode(frame).withUnsafeBytes { h.connection.receive($0) }
        wait(for: [done], timeout: 30)
        XCTAssertEqual(answer["error"]?["code"], -32800, "\(answer)")
        // One product of this model in a debug build takes tens of milliseconds; 2 s leaves room for a loaded CI machine.
        XCTAssertLessThan(Date().timeIntervalSince(cancelled), 2)
    }
}
