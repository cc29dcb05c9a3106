import SaddleMath
/// Gradient-noise statistics from B mini-batch gradients g₁ … g_B, each the mean gradient of one
/// batch of b samples.
///
/// Formulas (d parameters, ‖·‖ the Euclidean norm):
/// - mean gradient G = (1/B) Σᵢ gᵢ
/// - batch variance S = 1/(B − 1) · Σᵢ ‖gᵢ − G‖² — the unbiased estimate of tr Cov(g_batch)
/// - per-sample covariance trace tr(Σ) = b · S, since Cov(g_batch) = Σ / b for i.i.d. samples
/// - simple noise scale B_simple = tr(Σ) / ‖G‖² (McCandlish, Kaplan, Amodei et al. 2018). ‖G‖² is the
///   plain squared norm of the mean; it overestimates ‖E g‖² by S/B on average, so
///   `unbiasedGradientNormSquared` = ‖G‖² − S/B is reported as well (it may be negative when noise dominates).
/// - signal-to-noise ratio SNR = ‖G‖² / (tr(Σ)/b) = ‖G‖² / S (signal power of the batch gradient over its noise power)
/// - mean pairwise cosine = mean over pairs i < j of gᵢ·gⱼ / (‖gᵢ‖‖gⱼ‖), pairs with a zero gradient skipped
///   (NaN when no pair remains).
/// Divisions follow IEEE rules: with G = 0, B_simple is +∞ (NaN when S is 0 too) and SNR is 0 (NaN when S = 0).
public enum GradientNoise {
    public struct Statistics: Sendable {
        /// B, the number of batch gradients.
        public var batches: Int
        /// b, the samples per batch.
        public var batchSize: Int
        public var dimension: Int
        public var meanGradient: [Double]
        public var meanGradientNorm: Double
        /// S = 1/(B − 1) Σ ‖gᵢ − G‖².
        public var batchGradientVariance: Double
        /// tr(Σ) = b · S.
        public var covarianceTrace: Double
        public var simpleNoiseScale: Double
        public var unbiasedGradientNormSquared: Double
        public var signalToNoiseRatio: Double
        public var meanPairwiseCosine: Double
        /// Pairs that entered the mean cosine.
        public var cosinePairs: Int
    }

    /// - Throws: ``CurvatureError/invalidArgument(_:)`` for fewer than 2 gradients, b < 1, an empty
    ///   gradient, unequal lengths or a non-finite entry.
    public static func statistics(batchGradients g: [[Double]], batchSize b: Int) throws -> Statistics {
        guard g.count >= 2 else {
            throw CurvatureError.invalidArgument("gradient-noise statistics need at least 2 batch gradients, got \(g.count)")
        }
        guard b >= 1 else { throw CurvatureError.invalidArgument("`batchSize` must be at least 1, got \(b)") }
        let d = g[0].count
        guard d > 0 else { throw CurvatureError.invalidArgument("batch gradients must not be empty") }
        for (i, gi) in g.enumerated() {
            guard gi.count == d else {
                throw CurvatureError.invalidArgument("batch gradient \(i) has \(gi.count) entries, gradient 0 has \(d)")
            }
            if let j = Vec.firstNonFinite(gi) {
                throw CurvatureError.invalidArgument("batch gradient \(i) has \(gi[j]) at entry \(j); gradients must be finite")
            }
        }
        let count = Double(g.count)
        var mean = [Double](repeating: 0, count: d)
        for gi in g { Vector.axpy(1 / count, gi, &mean) }
        var sumSquares = 0.0
        for gi in g {
            var dev = gi
            Vector.axpy(-1, mean, &dev)
            let r = Vector.norm(dev)
            sumSquares += r * r
        }
        let s = sumSquares / (count - 1)
        let meanNorm = Vector.norm(mean)
        let meanNormSquared = meanNorm * meanNorm
        let traceSigma = Double(b) * s

        let norms = g.map { Vector.norm($0) }
        var cosineSum = 0.0, pairs = 0
        for i in 0..<g.count where norms[i] > 0 {
            for j in (i + 1)..<g.count where norms[j] > 0 {
                cosineSum += Vector.dot(g[i], g[j]) / (norms[i] * norms[j])
                pairs += 1
            }
        }
        return Statistics(
            batches: g.count, batchSize: b, dimension: d, meanGradient: mean, meanGradientNorm: meanNorm,
            batchGradientVariance: s, covarianceTrace: traceSigma, simpleNoiseScale: traceSigma / meanNormSquared,
            unbiasedGradientNormSquared: meanNormSquared - s / count, signalToNoiseRatio: meanNormSquared / s,
            meanPairwiseCosine: pairs > 0 ? cosineSum / Double(pairs) : .nan, cosinePairs: pairs)
    }
}
