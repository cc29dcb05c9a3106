@testable import SaddleDiagnosis
import SaddleJSON
import XCTest

final class DiagnosisJSONTests: XCTestCase {
    /// A rich evidence value touching most fields.
    static func richEvidence() throws -> Evidence {
        var history = HistoryTests.series(30, loss: { 1 / Double($0 + 1) }, grad: { 0.1 / Double($0 + 1) })
        history[3].fingerprint = "abc"
        history[4].labelHistogram = [3, 1]
        history[5].dataWait = 0.01
        history[5].compute = 0.2
        history[6].throughput = 512
        history[7].weightNorm = 3.5
        let escape = try EscapeProbe.run(
            loss: ProbeTests.quarticSaddle, theta: [0, 0], direction: [0, 1],
            stepSizes: [0.5, 1])
        let perturbation = try PerturbationProbe.run(
            loss: ProbeTests.quarticSaddle, gradient: ProbeTests.quarticSaddleGradient, theta: [0, 0], radius: 0.1,
            steps: 5, learningRate: 0.1, probes: 3, seed: .max)
        return Evidence(
            gradNorm: 1e-9, earlyGradNorm: 0.1, loss: 0.03, lambdaMax: 2, lambdaMin: -0.5,
            spectralRatio: -0.25, negativeSpectralMass: 0.1, hessianTrace: 1.5,
            eigenvalueCounts: EigenvalueCounts(negative: 1, zero: 0, positive: 1), zeroEigenvalueShare: 0,
            history: history, gradientCosine: 0.3, noiseScale: 100, batchSize: 32, learningRate: 0.01,
            deadFraction: 0.1, saturatedFraction: 0.2, dataWaitShare: 0.05, throughputChange: -0.1,
            repeatedBatchShare: 0, labelEntropy: 0.9, escapeProbe: escape, perturbationProbe: perturbation,
            parameterCount: 2)
    }

    /// Same evidence → byte-identical JSON; and evidence survives its own JSON form exactly
    /// (17 significant digits round-trip every Double).
    func testDeterministicAndRoundTrips() throws {
        let evidence = try Self.richEvidence()
        let first = try Diagnoser.diagnose(evidence).json.serializedString()
        let second = try Diagnoser.diagnose(evidence).json.serializedString()
        XCTAssertEqual(first, second)
        XCTAssertTrue(first.hasPrefix(#"{"confidence":"#), "keys sorted")

        let wire = try evidence.json.serializedString()
        let back = try Evidence(from: JSONReader(try JSON.parse(wire)))
        XCTAssertEqual(back, evidence)
        XCTAssertEqual(try Diagnoser.diagnose(back).json.serializedString(), first)
        XCTAssertEqual(Diagnoser.diagnose(back).verdict, .saddle)
    }

    func testDiagnosisJSONShape() throws {
        let d = Diagnoser.diagnose(try Self.richEvidence())
        let json = d.json
        XCTAssertEqual(json["verdict"], .string("saddle"))
        XCTAssertEqual(json["confidence"]?.doubleValue, d.confidence)
        XCTAssertTrue((0...1).contains(d.confidence))
        let item = try XCTUnwrap(json["evidence"]?.arrayValue?.first { $0["name"] == .string("lambdaMin") })
        XCTAssertEqual(item["value"], .double(-0.5))
        XCTAssertEqual(item["threshold"], .double(-2e-4), "−1e-4 × |λ|max 2")
        XCTAssertEqual(item["comparison"], .string("<"))
        XCTAssertEqual(item["pointsTo"], .string("saddle"))
        XCTAssertEqual(item["decisive"], .bool(true))
        XCTAssertEqual(json["recommendations"]?[0]?["id"], .string("negativeCurvatureStep"))
        XCTAssertEqual(json["missing"], .array([]))
        XCTAssertEqual(
            Set(Verdict.allCases.map(\.rawValue)),
            [
                "saddle", "localMinimum", "plateau", "noisyOrIllConditioned", "diverging",
                "dataPipelineStall", "straggler", "rankDivergence", "progressing",
            ])
    }

    func testEvidenceJSONRejectsUnknownAndBadFields() throws {
        XCTAssertThrowsError(try Evidence(from: JSONReader(try JSON.parse(#"{"lambda_min": -1}"#)))) {
            XCTAssertTrue(($0 as? JSONShapeError)?.description.contains("expected one of: batchSize") ?? false)
        }
        XCTAssertThrowsError(try Evidence(from: JSONReader(try JSON.parse(#"{"deadFraction": 1.5}"#))))
        XCTAssertThrowsError(try Evidence(from: JSONReader(try JSON.parse(#"{"history": [{"loss": 1}]}"#))))
        let nan = try Evidence(from: JSONReader(try JSON.parse(#"{"loss": "NaN", "gradNorm": "Infinity"}"#)))
        XCTAssertTrue(nan.loss?.isNaN ?? false)
        XCTAssertEqual(Diagnoser.diagnose(nan).verdict, .diverging)
    }
}
