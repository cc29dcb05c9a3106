import SaddleMath
import SaddleTestSupport
import XCTest

@testable import SaddleCurvature

/// Lanczos on the ground-truth Hessians of /work/shared/scenarios (float64 JAX dense Hessians).
final class ScenarioTests: XCTestCase {
    /// Top-5 and bottom-5 from one Lanczos run against LAPACK on the same Hessian, to 1e-6 × max|λ|
    /// (the run's residual tolerance is 1e-10 × max|θ|). Zero eigenvalues of multiplicity > 1 (in
    /// exact arithmetic; ~1e-15 × scale here) are merged to one value, as single-vector Lanczos sees
    /// them. The LAPACK reference is itself checked against expected.json's numpy values (1e-9 × scale).
    func testLanczosTopAndBottomFiveMatchTheDenseHessian() throws {
        let all = try Scenario.all()
        XCTAssertEqual(all.count, 6, "six ground-truth scenarios")
        for scenario in all {
            let name = scenario.name
            let h = try scenario.array("hessian.npy")
            let hValues = h.doubles
            XCTAssertEqual(h.shape.count, 2, name)
            let n = h.shape[0]
            XCTAssertEqual(h.shape[1], n, name)
            let dense = try SymmetricEigen.dense(hValues, n: n, vectors: false).values
            let scale = max(abs(dense[0]), abs(dense[n - 1]))
            let tol = 1e-6 * max(scale, .leastNormalMagnitude)

            let top5 = try scenario.hessianTop5
            for (got, want) in zip(dense.reversed(), top5) {
                XCTAssertEqual(got, want, accuracy: 1e-9 * max(scale, 1e-300), name)
            }

            let op = try DenseOperator(matrix: hValues, dimension: n)
            let r = try Lanczos.eigen(op, options: .init(largest: 5, smallest: 5, tolerance: 1e-10, maxIterations: n))
            func merged(_ v: [Double]) -> [Double] {
                v.reduce(into: [Double]()) { out, x in if out.last.map({ abs(x - $0) > tol }) ?? true { out.append(x) } }
            }
            let wantTop = merged(Array(dense.reversed())), wantBottom = merged(dense)
            let gotTop = merged(r.largest), gotBottom = merged(r.smallest)
            XCTAssertFalse(gotTop.isEmpty, name)
            for (g, w) in zip(gotTop, wantTop) { XCTAssertEqual(g, w, accuracy: tol, "\(name) largest") }
            for (g, w) in zip(gotBottom, wantBottom) { XCTAssertEqual(g, w, accuracy: tol, "\(name) smallest") }
            XCTAssertLessThanOrEqual(gotTop.count, wantTop.count, name)
            XCTAssertLessThanOrEqual(gotBottom.count, wantBottom.count, name)
            print(
                "\(name): n = \(n), \(r.iterations) products, \(r.stopReason), λmax \(r.largest[0]) (dense \(dense[n - 1])), "
                    + "λmin \(r.smallest[0]) (dense \(dense[0]))")
            if r.stopReason != .invariantSubspace {
                XCTAssertEqual(r.largest.count, min(5, n), name)
            } else {
                // Exhausted: every distinct eigenvalue the start vector sees was found.
                XCTAssertEqual(gotTop.count, min(wantTop.count, 5), "\(name): all distinct values within reach")
            }
            XCTAssertTrue(r.converged, name)
        }
    }

    /// Hutchinson on the XOR network's Hessian within 3 standard errors of expected.json's trace.
    func testHutchinsonTraceOfTheXorHessian() throws {
        let scenario = try Scenario(named: "d_xor_mlp_2_16_16_1_tanh_init")
        let h = try scenario.array("hessian.npy")
        let trace = try scenario.hessianTrace
        let r = try Hutchinson.trace(
            try DenseOperator(matrix: h.doubles, dimension: h.shape[0]), options: .init(probes: 100, seed: 7))
        XCTAssertLessThanOrEqual(
            abs(r.estimate - trace), 3 * r.standardError, "estimate \(r.estimate) ± \(r.standardError), exact \(trace)")
    }
}
