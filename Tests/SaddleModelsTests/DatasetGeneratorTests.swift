import Foundation
import SaddleJSON
import SaddleMath
import XCTest
@testable import SaddleModels

final class DatasetGeneratorTests: XCTestCase {
    private func generator(_ json: String) throws -> DatasetGenerator {
        try DatasetGenerator(from: JSONReader(try JSON.parse(json)))
    }

    private func generate(_ json: String) throws -> Dataset { try generator(json).generate() }

    private func classes(_ d: Dataset) -> [Int32] {
        if case .classes(let labels, _) = d.targets { return labels }
        XCTFail("class targets expected")
        return []
    }

    private func dense(_ d: Dataset) -> [Double] {
        if case .regression(let values, _) = d.targets { return values }
        XCTFail("regression targets expected")
        return []
    }

    func testXORCornersExactly() throws {
        let d = try generate(#"{"kind": "xor"}"#)
        XCTAssertEqual(d.inputs, [0, 0, 0, 1, 1, 0, 1, 1], "the scenario's corner order")
        XCTAssertEqual(d.targets, .classes([0, 1, 1, 0], classCount: 2))
        let signed = try generate(#"{"kind": "xor", "labels": "signed", "centered": true, "name": "pm"}"#)
        XCTAssertEqual(signed.name, "pm")
        XCTAssertEqual(signed.inputs, [-1, -1, -1, 1, 1, -1, 1, 1])
        XCTAssertEqual(signed.targets, .regression([-1, 1, 1, -1], width: 1))
        XCTAssertEqual(dense(try generate(#"{"kind": "xor", "labels": "binary"}"#)), [0, 1, 1, 0])
    }

    /// Noisy XOR: balanced classes (50 each by construction), and with noise 0.1 every point stays
    /// within 0.5 of its corner (a 5σ event per coordinate, and the seed is fixed), so the label
    /// equals the XOR of the rounded coordinates. Same seed → identical data set; another seed → not.
    func testNoisyXORLabelsBalanceAndDeterminism() throws {
        let json = #"{"kind": "xor", "samples": 200, "noise": 0.1, "seed": 1}"#
        let d = try generate(json)
        XCTAssertEqual(d.sampleCount, 200)
        let labels = classes(d)
        XCTAssertEqual(labels.filter { $0 == 1 }.count, 100)
        for i in 0..<200 {
            let a = d.inputs[2 * i] > 0.5, b = d.inputs[2 * i + 1] > 0.5
            XCTAssertEqual(labels[i], a != b ? 1 : 0, "sample \(i)")
        }
        XCTAssertNotEqual(d.inputs[0], 0, "noise was added")
        XCTAssertEqual(try generate(json), d)
        XCTAssertNotEqual(try generate(#"{"kind": "xor", "samples": 200, "noise": 0.1, "seed": 2}"#).inputs, d.inputs)
        XCTAssertTrue(d.provenance.contains("seed 1"), d.provenance)
    }

    /// Class i mod k (exactly balanced); means at distance `separation` from the origin (1e-12:
    /// one normalization); each class's empirical mean within 5 standard errors (5·std/√n_c) of
    /// its true mean in every coordinate.
    func testGaussianMixtureBalanceAndMeans() throws {
        let g = try generator(
            #"{"kind": "gaussianMixture", "classes": 3, "dimensions": 4, "samples": 3000, "separation": 5, "std": 0.5, "seed": 7}"#
        )
        let d = try g.generate()
        guard case .gaussianMixture(let p) = g.kind else { return XCTFail("wrong kind") }
        let labels = classes(d)
        XCTAssertEqual(d.targetWidth, 3)
        let means = p.means()
        for c in 0..<3 {
            XCTAssertEqual(labels.filter { $0 == Int32(c) }.count, 1000)
            let mean = Array(means[(4 * c)..<(4 * c + 4)])
            XCTAssertEqual(Vector.norm(mean), 5, accuracy: 1e-12)
            for j in 0..<4 {
                var sum = 0.0
                for i in stride(from: c, to: 3000, by: 3) { sum += d.inputs[4 * i + j] }
                XCTAssertEqual(sum / 1000, mean[j], accuracy: 5 * 0.5 / 1000.0.squareRoot(), "class \(c) coordinate \(j)")
            }
        }
    }

    /// Without noise each point lies on its spiral: radius r < 1 and angle 2π·turns·r + cπ, so
    /// (x, y) = r·(cos, sin) of that angle to 1e-12.
    func testSpiralsLieOnTheirSpirals() throws {
        let d = try generate(#"{"kind": "spirals", "samples": 100, "turns": 2, "seed": 3}"#)
        let labels = classes(d)
        XCTAssertEqual(labels.filter { $0 == 0 }.count, 50)
        for i in 0..<100 {
            let x = d.inputs[2 * i], y = d.inputs[2 * i + 1]
            let r = (x * x + y * y).squareRoot()
            XCTAssertLessThan(r, 1)
            let angle = 2 * Double.pi * 2 * r + Double(labels[i]) * Double.pi
            XCTAssertEqual(x, r * cos(angle), accuracy: 1e-12, "sample \(i)")
            XCTAssertEqual(y, r * sin(angle), accuracy: 1e-12, "sample \(i)")
        }
    }

    /// Targets equal the teacher recomputed here by naive loops from `teacher()` (1e-12: sums of
    /// ≤ 8 terms of O(1) values); class labels are the argmax of the same outputs.
    func testTeacherStudentMatchesNaiveTeacher() throws {
        let g = try generator(#"{"kind": "teacherStudent", "inputs": 3, "hidden": 5, "outputs": 2, "samples": 50, "seed": 4}"#)
        guard case .teacherStudent(let p) = g.kind else { return XCTFail("wrong kind") }
        let d = try g.generate()
        let y = dense(d)
        let (w1, b1, w2) = p.teacher()
        var argmax = [Int32]()
        for r in 0..<50 {
            var h = [Double](repeating: 0, count: 5)
            for j in 0..<5 {
                var z = b1[j]
                for k in 0..<3 { z += d.inputs[3 * r + k] * w1[k, j] }
                h[j] = tanh(z)
            }
            var out = [0.0, 0.0]
            for o in 0..<2 {
                for j in 0..<5 { out[o] += h[j] * w2[j, o] }
                XCTAssertEqual(y[2 * r + o], out[o], accuracy: 1e-12, "sample \(r) output \(o)")
            }
            argmax.append(out[1] > out[0] ? 1 : 0)
        }
        let c = try generate(
            #"{"kind": "teacherStudent", "inputs": 3, "hidden": 5, "outputs": 2, "samples": 50, "seed": 4, "labels": "classes"}"#)
        XCTAssertEqual(c.targets, .classes(argmax, classCount: 2))
        XCTAssertEqual(c.inputs, d.inputs, "labels do not change the inputs drawn")
        XCTAssertTrue(Set(argmax).count == 2, "both classes occur")
    }

    /// Noiseless: y = W·x to 1e-12. With noise 0.1 on 2000 samples, the residual's standard
    /// deviation is 0.1 ± 0.01 (its standard error is 0.1/√(2n) ≈ 0.0016, so 6σ) and its mean 0 ± 0.015.
    func testDeepLinear() throws {
        let g = try generator(#"{"kind": "deepLinear", "inputs": 3, "outputs": 2, "samples": 2000, "seed": 5}"#)
        guard case .deepLinear(let p) = g.kind else { return XCTFail("wrong kind") }
        let w = p.weights()
        let clean = try g.generate()
        let y = dense(clean)
        func predicted(_ r: Int, _ o: Int) -> Double { (0..<3).reduce(0) { $0 + w[o, $1] * clean.inputs[3 * r + $1] } }
        for r in 0..<20 { for o in 0..<2 { XCTAssertEqual(y[2 * r + o], predicted(r, o), accuracy: 1e-12) } }
        let noisy = try generate(#"{"kind": "deepLinear", "inputs": 3, "outputs": 2, "samples": 2000, "seed": 5, "noise": 0.1}"#)
        XCTAssertEqual(noisy.inputs, clean.inputs)
        let residuals = zip(dense(noisy), y).map { $0 - $1 }
        let mean = residuals.reduce(0, +) / Double(residuals.count)
        let std = (residuals.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(residuals.count)).squareRoot()
        XCTAssertEqual(mean, 0, accuracy: 0.015)
        XCTAssertEqual(std, 0.1, accuracy: 0.01)
    }

    func testParameterErrorsNameTheField() throws {
        func message(_ json: String) -> String {
            do {
                _ = try generator(json)
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        XCTAssertEqual(
            message(#"{"kind": "xor", "sample": 3}"#),
            "`params.sample` is not a known field; expected one of: centered, kind, labels, name, noise, samples, seed")
        XCTAssertEqual(message(#"{"kind": "spirals", "samples": -3}"#), "`params.samples` must be at least 2, got -3")
        XCTAssertEqual(message(#"{"kind": "xor", "samples": -3}"#), "`params.samples` must be a positive integer, got -3")
        XCTAssertTrue(message(#"{"kind": "moons"}"#).hasPrefix("`params.kind` must be one of \"xor\", \"gaussianMixture\""))
        XCTAssertEqual(
            message(#"{"kind": "gaussianMixture", "std": "NaN"}"#), "`params.std` must be a finite number, got the string \"NaN\""
        )
        XCTAssertEqual(
            message(#"{"kind": "teacherStudent", "labels": "classes", "outputs": 1}"#),
            "`params.outputs` must be at least 2, got 1")
        XCTAssertEqual(message(#"{"kind": "xor", "seed": -1}"#), "`params.seed` must be at least 0, got -1")
    }

    func testTooLargeIsRefusedBeforeAllocating() throws {
        let g = try generator(#"{"kind": "deepLinear", "inputs": 100, "samples": 1000}"#)
        do throws(DatasetError) {
            _ = try g.generate(maxBytes: 100_000)
            XCTFail("expected tooLarge")
        } catch {
            XCTAssertEqual(error.kind, .tooLarge)
            XCTAssertTrue(error.message.contains("808000 bytes"), error.message)
            XCTAssertTrue(error.message.contains("maxBytes = 100000"), error.message)
        }
    }
}
