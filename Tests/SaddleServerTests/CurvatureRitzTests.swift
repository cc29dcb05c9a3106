import SaddleJSON
import SaddleMath
import SaddleTestSupport
import XCTest

/// `curvature/ritz` as the Python bridge uses it: the Lanczos recurrence runs outside the daemon (here:
/// in the test, over a scenario's dense Hessian) and only the tridiagonal crosses the protocol.
final class CurvatureRitzTests: XCTestCase {
    /// Extreme eigenvalues from an external Lanczos driven by `curvature/ritz` agree with the dense
    /// eigendecomposition to 1e-6 relative (the tolerance issue #4 asks of Double).
    func testExternalLanczosReachesTheDenseExtremes() throws {
        let harness = ServerHarness()
        let scenario = try Scenario(named: "d_xor_mlp_2_16_16_1_tanh_init")
        let h = try scenario.array("hessian.npy").doubles
        let n = Int(Double(h.count).squareRoot())
        let dense = try SymmetricEigen.dense(h, n: n, vectors: false).values
        func apply(_ v: [Double]) -> [Double] {
            (0..<n).map { i in (0..<n).reduce(0) { $0 + h[i * n + $1] * v[$1] } }
        }
        var rng = SeededRandom(seed: 3)
        var q = (0..<n).map { _ in rng.gaussian() }
        let norm0 = q.reduce(0) { $0 + $1 * $1 }.squareRoot()
        q = q.map { $0 / norm0 }
        var basis = [q]
        var alphas: [Double] = [], betas: [Double] = []
        var result: JSON = .null
        for _ in 0..<n {
            var w = apply(basis[basis.count - 1])
            alphas.append(zip(w, basis[basis.count - 1]).reduce(0) { $0 + $1.0 * $1.1 })
            for b in basis {  // full reorthogonalization, twice
                for _ in 0..<2 {
                    let c = zip(w, b).reduce(0) { $0 + $1.0 * $1.1 }
                    w = zip(w, b).map { $0 - c * $1 }
                }
            }
            let beta = w.reduce(0) { $0 + $1 * $1 }.squareRoot()
            betas.append(beta)
            result = try harness.call(
                "curvature/ritz",
                [
                    "alphas": .numbers(alphas), "betas": .numbers(betas),
                    "tolerance": 1e-9,
                ])
            if result["converged"] == true || beta < 1e-12 { break }
            basis.append(w.map { $0 / beta })
        }
        XCTAssertEqual(result["converged"], true)
        XCTAssertLessThan(alphas.count, n, "converged before the full dimension")
        let top = try XCTUnwrap(result["largest"]?[0]?["value"]?.doubleValue)
        let bottom = try XCTUnwrap(result["smallest"]?[0]?["value"]?.doubleValue)
        let scale = max(abs(dense[0]), abs(dense[n - 1]))
        XCTAssertEqual(top, dense[n - 1], accuracy: 1e-6 * scale)
        XCTAssertEqual(bottom, dense[0], accuracy: 1e-6 * scale)
        XCTAssertEqual(result["steps"]?.int64Value, Int64(alphas.count))
    }

    func testBadTridiagonalsAreRefusedWithTheFieldNamed() throws {
        let harness = ServerHarness()
        for (params, field) in [
            (["alphas": [1, 2], "betas": [1]] as JSON, "betas"),
            (["alphas": [], "betas": []], "alphas"),
            (["alphas": [1], "betas": [-1]], "betas"),
            (["alphas": [1], "betas": [1], "k": 0], "k"),
            (["alphas": ["NaN"], "betas": [1]], "alphas"),
        ] {
            let answer = harness.answer("curvature/ritz", params)
            XCTAssertEqual(answer["error"]?["code"]?.int64Value, -32602, "\(params)")
            XCTAssertTrue(answer["error"]?["message"]?.stringValue?.contains("params.\(field)") == true, "\(answer)")
        }
    }
}
