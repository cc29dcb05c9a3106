import Foundation
import SaddleMath
import XCTest

@testable import SaddleCurvature

/// Lanczos on the ground-truth Hessians of /work/shared/scenarios (float64 JAX dense Hessians).
final class ScenarioTests: XCTestCase {
    /// The scenarios folder: $SADDLE_SCENARIOS, else `shared/scenarios` or `scenarios` at the
    /// repository root, else /work/shared/scenarios.
    private func scenariosFolder() throws -> URL {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var candidates = [root.appendingPathComponent("shared/scenarios"), root.appendingPathComponent("scenarios"),
                          URL(fileURLWithPath: "/work/shared/scenarios")]
        if let env = ProcessInfo.processInfo.environment["SADDLE_SCENARIOS"] { candidates.insert(URL(fileURLWithPath: env), at: 0) }
        guard let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0.appendingPathComponent("README.md").path) }) else {
            throw XCTSkip("no scenarios folder (set SADDLE_SCENARIOS)")
        }
        return found
    }

    private func cases() throws -> [URL] {
        let folder = try scenariosFolder()
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        return names.map { folder.appendingPathComponent($0) }
            .filter { FileManager.default.fileExists(atPath: $0.appendingPathComponent("hessian.npy").path) }
    }

    /// Top-5 and bottom-5 from one Lanczos run against LAPACK on the same Hessian, to 1e-6 × max|λ|
    /// (the run's residual tolerance is 1e-10 × max|θ|). Zero eigenvalues of multiplicity > 1 (in
    /// exact arithmetic; ~1e-15 × scale here) are merged to one value, as single-vector Lanczos sees
    /// them. The LAPACK reference is itself checked against expected.json's numpy values (1e-9 × scale).
    func testLanczosTopAndBottomFiveMatchTheDenseHessian() throws {
        let all = try cases()
        XCTAssertEqual(all.count, 6, "six ground-truth scenarios")
        for folder in all {
            let name = folder.lastPathComponent
            let h = try NpyReader.readFloat64(folder.appendingPathComponent("hessian.npy"))
            XCTAssertEqual(h.shape.count, 2, name)
            let n = h.shape[0]
            XCTAssertEqual(h.shape[1], n, name)
            let dense = try SymmetricEigen.dense(h.values, n: n, vectors: false).values
            let scale = max(abs(dense[0]), abs(dense[n - 1]))
            let tol = 1e-6 * max(scale, .leastNormalMagnitude)

            let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("expected.json")))
            let top5 = try XCTUnwrap((expected as? [String: Any])?["hessian_top5"] as? [Double], name)
            for (got, want) in zip(dense.reversed(), top5) { XCTAssertEqual(got, want, accuracy: 1e-9 * max(scale, 1e-300), name) }

            let op = try DenseOperator(matrix: h.values, dimension: n)
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
            print("\(name): n = \(n), \(r.iterations) products, \(r.stopReason), λmax \(r.largest[0]) (dense \(dense[n - 1])), "
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
        let folder = try scenariosFolder().appendingPathComponent("d_xor_mlp_2_16_16_1_tanh_init")
        let h = try NpyReader.readFloat64(folder.appendingPathComponent("hessian.npy"))
        let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("expected.json")))
        let trace = try XCTUnwrap((expected as? [String: Any])?["hessian_trace"] as? Double)
        let r = try Hutchinson.trace(try DenseOperator(matrix: h.values, dimension: h.shape[0]), options: .init(probes: 100, seed: 7))
        XCTAssertLessThanOrEqual(abs(r.estimate - trace), 3 * r.standardError, "estimate \(r.estimate) ± \(r.standardError), exact \(trace)")
    }
}
