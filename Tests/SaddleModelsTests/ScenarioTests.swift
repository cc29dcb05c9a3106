import SaddleJSON
import SaddleMath
import SaddleModels
import SaddleTestSupport
import XCTest

/// Every ground-truth scenario (float64 JAX references) reproduced: loss, gradient, H·v and the dense
/// Hessian to 1e-9 relative. Both sides are float64 with the same formulas, so the differences are
/// rounding (~1e-14); 1e-9 is tight enough to catch any convention mismatch (a ½ in MSE, a sum instead of
/// a mean, a transposed weight) and loose enough for summation-order differences. Quantities that are
/// exactly zero in exact arithmetic are compared with an absolute floor of 1e-12 times the scale.
final class ScenarioTests: XCTestCase {
    func scenarios() throws -> [Scenario] {
        let all = try Scenario.all()
        XCTAssertGreaterThanOrEqual(all.count, 6)
        return all
    }

    func testLossGradientAndHVP() throws {
        for s in try scenarios() {
            let e = s.model.makeEvaluator(Double.self)
            var g: [Double] = []
            let loss = try e.lossAndGradient(parameters: s.model.parameters, batch: s.batch, gradient: &g)
            let expectedLoss = try s.loss
            XCTAssertEqual(loss, expectedLoss, accuracy: 1e-9 * abs(expectedLoss), s.name)
            let gradNorm = try s.gradNorm
            XCTAssertEqual(Fixture.norm(g), gradNorm, accuracy: max(1e-9 * gradNorm, 1e-12 * max(1, expectedLoss)), s.name)
            let gRef = try s.array("grad.npy").doubles
            XCTAssertLessThanOrEqual(Fixture.norm(zip(g, gRef).map { $0 - $1 }), max(1e-9 * Fixture.norm(gRef), 1e-12), s.name)

            let v = try s.array("hvp_v.npy").doubles
            let hvRef = try s.array("hvp_hv.npy").doubles
            var hv: [Double] = []
            try e.hessianVectorProduct(parameters: s.model.parameters, batch: s.batch, vector: v, into: &hv)
            XCTAssertLessThanOrEqual(
                Fixture.norm(zip(hv, hvRef).map { $0 - $1 }), max(1e-9 * Fixture.norm(hvRef), 1e-12),
                s.name)
        }
    }

    /// The dense Hessian from n HVPs against hessian.npy, and its extreme eigenvalues against
    /// expected.json (LAPACK on our Hessian), relative to the largest |entry| / |eigenvalue|.
    func testDenseHessianAndSpectrum() throws {
        for s in try scenarios() {
            let e = s.model.makeEvaluator(Double.self)
            let n = s.model.parameterCount
            let reference = try s.array("hessian.npy")
            let referenceValues = reference.doubles
            XCTAssertEqual(reference.shape, [n, n], s.name)
            var hessian = [Double](repeating: 0, count: n * n)
            var unit = [Double](repeating: 0, count: n), column: [Double] = []
            for j in 0..<n {
                unit[j] = 1
                try e.hessianVectorProduct(parameters: s.model.parameters, batch: s.batch, vector: unit, into: &column)
                unit[j] = 0
                for i in 0..<n { hessian[i * n + j] = column[i] }
            }
            let scale = max(referenceValues.map(abs).max() ?? 0, 1)
            let maxDiff = zip(hessian, referenceValues).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(maxDiff, 1e-9 * scale, s.name)

            let eigen = try SymmetricEigen.dense(hessian, n: n, vectors: false)
            let top = try s.hessianTop5
            let bottom = try s.hessianBottom5
            let ascending = eigen.values.sorted()
            let lambdaScale = max(abs(ascending.first ?? 0), abs(ascending.last ?? 0), 1e-300)
            for (k, value) in top.enumerated() {
                XCTAssertEqual(ascending[n - 1 - k], value, accuracy: 1e-9 * max(lambdaScale, 1), "\(s.name) top \(k)")
            }
            for (k, value) in bottom.enumerated() {
                XCTAssertEqual(ascending[k], value, accuracy: 1e-9 * max(lambdaScale, 1), "\(s.name) bottom \(k)")
            }
        }
    }

    /// The names and shapes the scenarios use are exactly ours (nn.Sequential state-dict convention).
    func testBlockNamesFollowTorchSequential() throws {
        for s in try scenarios() {
            let order = try XCTUnwrap(s.modelDescription["param_order"]?.arrayValue)
            XCTAssertEqual(s.model.blocks.map(\.name), order.compactMap { $0["name"]?.stringValue }, s.name)
            XCTAssertEqual(
                s.model.blocks.map(\.shape),
                order.map { ($0["shape"]?.arrayValue ?? []).compactMap { $0.int64Value.map { Int($0) } } }, s.name)
        }
    }
}
