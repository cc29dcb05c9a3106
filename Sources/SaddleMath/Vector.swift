/// Vector operations on flat arrays, built on the BLAS level-1 kernels of ``BLASScalar``.
///
/// Parameters, gradients, Lanczos vectors and probe directions are plain `[T]`; these helpers keep
/// that code short. Lengths must agree (a precondition names both). Arithmetic follows IEEE 754:
/// NaN and infinities propagate. `norm` is BLAS `nrm2`, which scales to avoid overflow.
public enum Vector {
    /// x·y.
    public static func dot<T: BLASScalar>(_ x: [T], _ y: [T]) -> T {
        precondition(x.count == y.count, "dot needs equal lengths, got \(x.count) and \(y.count)")
        if x.isEmpty { return 0 }
        return x.withUnsafeBufferPointer { xp in
            y.withUnsafeBufferPointer { yp in T.dot(count: x.count, x: xp.baseAddress!, y: yp.baseAddress!) }
        }
    }

    /// ‖x‖₂.
    public static func norm<T: BLASScalar>(_ x: [T]) -> T {
        if x.isEmpty { return 0 }
        return x.withUnsafeBufferPointer { T.nrm2(count: x.count, x: $0.baseAddress!) }
    }

    /// y ← α·x + y.
    public static func axpy<T: BLASScalar>(_ alpha: T, _ x: [T], _ y: inout [T]) {
        precondition(x.count == y.count, "axpy needs equal lengths, got \(x.count) and \(y.count)")
        if x.isEmpty { return }
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                T.axpy(count: xp.count, alpha: alpha, x: xp.baseAddress!, y: yp.baseAddress!)
            }
        }
    }

    /// x ← α·x.
    public static func scale<T: BLASScalar>(_ x: inout [T], by alpha: T) {
        if x.isEmpty { return }
        x.withUnsafeMutableBufferPointer { T.scal(count: $0.count, alpha: alpha, x: $0.baseAddress!) }
    }

    /// α·x as a new array.
    public static func scaled<T: BLASScalar>(_ x: [T], by alpha: T) -> [T] {
        var y = x
        scale(&y, by: alpha)
        return y
    }

    /// x + α·y as a new array (α = 1 by default).
    public static func adding<T: BLASScalar>(_ x: [T], _ y: [T], times alpha: T = 1) -> [T] {
        var result = x
        axpy(alpha, y, &result)
        return result
    }

    /// Scales x to unit length and returns its former norm. A zero vector (or one with a
    /// non-finite norm) is left unchanged, and its norm (0, NaN or ∞) is returned so callers
    /// can detect the breakdown.
    @discardableResult
    public static func normalize<T: BLASScalar>(_ x: inout [T]) -> T {
        let n = norm(x)
        if n > 0 && n.isFinite { scale(&x, by: 1 / n) }
        return n
    }

    /// Removes from x its components along each vector of `basis` by modified Gram–Schmidt,
    /// repeated `passes` times (two passes reach working precision — "twice is enough" — which
    /// is what full reorthogonalization in Lanczos needs). The basis vectors must be orthonormal
    /// and as long as x.
    public static func orthogonalize<T: BLASScalar>(_ x: inout [T], against basis: [[T]], passes: Int = 2) {
        for _ in 0..<max(passes, 1) {
            for q in basis {
                let c = dot(q, x)
                axpy(-c, q, &x)
            }
        }
    }
}
