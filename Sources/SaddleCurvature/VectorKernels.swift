import SaddleMath

/// Vector helpers the curvature algorithms need beyond SaddleMath's `Vector` (dot, norm, axpy, scale).
enum Vec {
    /// Whether every entry is finite; the index of the first that is not, otherwise nil.
    static func firstNonFinite(_ x: [Double]) -> Int? { x.firstIndex { !$0.isFinite } }

    /// A standard Gaussian vector normalized to unit length.
    static func randomUnit(dimension: Int, rng: inout SeededRandom) -> [Double] {
        var v = (0..<dimension).map { _ in rng.gaussian() }
        let n = Vector.norm(v)
        Vector.scale(&v, by: 1 / n)
        return v
    }
}

/// Row-stored orthonormal basis `q_0, …, q_{m−1}` in one flat buffer, with the two
/// matrix–vector products that classical Gram–Schmidt needs done by BLAS `gemv`.
struct FlatBasis {
    let dimension: Int
    private(set) var storage: [Double] = []
    var count: Int { dimension == 0 ? 0 : storage.count / dimension }

    init(dimension: Int, reserve: Int) {
        self.dimension = dimension
        storage.reserveCapacity(dimension * reserve)
    }

    mutating func append(_ v: [Double]) {
        precondition(v.count == dimension)
        storage.append(contentsOf: v)
    }

    func vector(_ j: Int) -> [Double] { Array(storage[(j * dimension)..<((j + 1) * dimension)]) }

    /// w ← w − Q·(Qᵀ·w) (one classical Gram–Schmidt pass against every stored vector).
    func orthogonalize(_ w: inout [Double]) {
        let m = count
        if m == 0 || dimension == 0 { return }
        var c = [Double](repeating: 0, count: m)
        storage.withUnsafeBufferPointer { q in
            w.withUnsafeMutableBufferPointer { wp in
                c.withUnsafeMutableBufferPointer { cp in
                    Double.gemv(
                        trans: false, m: m, n: dimension, alpha: 1, a: q.baseAddress!, lda: dimension,
                        x: UnsafePointer(wp.baseAddress!), beta: 0, y: cp.baseAddress!)
                    Double.gemv(
                        trans: true, m: m, n: dimension, alpha: -1, a: q.baseAddress!, lda: dimension,
                        x: UnsafePointer(cp.baseAddress!), beta: 1, y: wp.baseAddress!)
                }
            }
        }
    }

    /// One classical Gram–Schmidt pass, and a second only when the first shrank ‖w‖ below
    /// `threshold` × its norm before (the DGKS test; ARPACK uses 0.717): only then can rounding in the
    /// first pass have left components along the basis that are large relative to the result.
    /// Returns the final ‖w‖ and whether the second pass ran.
    func orthogonalizeTwiceIfNeeded(_ w: inout [Double], threshold: Double = 0.5.squareRoot()) -> (norm: Double, twice: Bool) {
        let before = Vector.norm(w)
        orthogonalize(&w)
        let after = Vector.norm(w)
        guard after < threshold * before else { return (after, false) }
        orthogonalize(&w)
        return (Vector.norm(w), true)
    }

    /// Σ_j coefficients[j]·q_j over the first `coefficients.count` vectors.
    func combine(_ coefficients: ArraySlice<Double>) -> [Double] {
        let m = coefficients.count
        precondition(m <= count)
        var y = [Double](repeating: 0, count: dimension)
        if m == 0 || dimension == 0 { return y }
        let coeff = Array(coefficients)
        storage.withUnsafeBufferPointer { q in
            coeff.withUnsafeBufferPointer { cp in
                y.withUnsafeMutableBufferPointer { yp in
                    Double.gemv(
                        trans: true, m: m, n: dimension, alpha: 1, a: q.baseAddress!, lda: dimension,
                        x: cp.baseAddress!, beta: 0, y: yp.baseAddress!)
                }
            }
        }
        return y
    }
}
