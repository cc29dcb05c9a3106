import SaddleCurvature
import SaddleJSON
import SaddleRPC

/// `curvature/ritz`: Ritz values, residuals and convergence of a Lanczos tridiagonal run elsewhere
/// (the Python bridge keeps the Lanczos vectors inside PyTorch and sends only T_m), decided by the
/// same rule as the daemon's own Lanczos. See protocol/curvature.md.
enum CurvatureRitz: RPCMethod {
    static let name = "curvature/ritz"
    typealias Result = JSON

    /// Longest tridiagonal accepted: its eigenvectors take m² doubles (8 MB at this size).
    static let maxSteps = 1_000

    struct Params: JSONDecodable {
        var alphas: [Double]
        var betas: [Double]
        var k: Int
        var tolerance: Double

        init(from reader: JSONReader) throws(JSONShapeError) {
            _ = try reader.object(allowing: ["alphas", "betas", "k", "tolerance"])
            alphas = try reader["alphas"].doubles()
            betas = try reader["betas"].doubles()
            guard !alphas.isEmpty else { throw reader["alphas"].fail("must hold at least one Lanczos step's α") }
            guard alphas.count <= CurvatureRitz.maxSteps else {
                throw reader["alphas"].fail("holds \(alphas.count) steps; at most \(CurvatureRitz.maxSteps) are accepted")
            }
            guard betas.count == alphas.count else {
                throw reader["betas"].fail(
                    "must hold one coupling per step (\(alphas.count)): β_1…β_m, the last being the residual coupling; got \(betas.count)"
                )
            }
            if let i = betas.firstIndex(where: { $0 < 0 }) {
                throw reader["betas"].fail("must hold norms ≥ 0; element \(i) is \(betas[i])")
            }
            k = try reader["k"].int(default: 1, min: 1, max: CurvatureRitz.maxSteps)
            tolerance = try reader["tolerance"].double(default: 1e-3, min: 0)
        }
    }
}

extension Server {
    func curvatureRitz(_ p: CurvatureRitz.Params, _ context: RequestContext) throws(RPCError) -> JSON {
        let ritz: RitzValues
        do {
            ritz = try RitzValues(alphas: p.alphas, betas: p.betas)
        } catch {
            throw RPCError(curvature: error)
        }
        let (top, bottom) = ritz.extremes(largest: p.k, smallest: p.k)
        func pairs(_ indices: [Int]) -> JSON {
            .array(indices.map { .object(["value": .number(ritz.values[$0]), "residual": .number(ritz.residuals[$0])]) })
        }
        return .object([
            "steps": .int(ritz.steps), "largest": pairs(top), "smallest": pairs(bottom),
            "converged": .bool(ritz.converged(largest: p.k, smallest: p.k, tolerance: p.tolerance)),
            "spectrumScale": .number(ritz.scale), "tolerance": .number(p.tolerance),
        ])
    }
}
