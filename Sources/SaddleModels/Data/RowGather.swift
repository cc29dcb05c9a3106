import SaddleMath

/// Copies rows `indices` of the row-major `source` (rows of `width` values) into `out`, converted to `T`,
/// reusing `out`'s storage when it already holds `indices.count × width` values (and is not shared), and
/// otherwise allocating it without zero-filling. Indices must be in range (the caller checks).
@inline(__always)
func gatherRows<T: BLASScalar>(_ source: UnsafeBufferPointer<Double>, width: Int, indices: [Int], into out: inout [T]) {
    gather(source, count: indices.count * width, into: &out) { gatherRows($0, width: width, indices: indices, to: $1) }
}

/// Copies rows `indices` of `source` into `out` unchanged (a data set's single-precision inputs, class labels),
/// as ``gatherRows(_:width:indices:into:)`` does for converted values.
@inline(__always)
func gatherSameRows<E: BitwiseCopyable>(_ source: UnsafeBufferPointer<E>, width: Int, indices: [Int], into out: inout [E]) {
    gather(source, count: indices.count * width, into: &out) { from, to in
        if width == 1 {
            for (row, i) in indices.enumerated() { (to + row).initialize(to: from[i]) }
        } else {
            for (row, i) in indices.enumerated() { (to + row * width).initialize(from: from + i * width, count: width) }
        }
    }
}

/// `count` values gathered from `source` into `out` by `fill` (given the source's first element and the
/// destination), or `out` emptied when there is nothing to gather.
@inline(__always)
private func gather<S, E>(
    _ source: UnsafeBufferPointer<S>, count: Int, into out: inout [E],
    _ fill: (UnsafePointer<S>, UnsafeMutablePointer<E>) -> Void
) {
    guard count > 0, let from = source.baseAddress else {
        out = []
        return
    }
    fillReusing(&out, count: count) { fill(from, $0) }
}

/// Writes `count` values into `out` with `fill`: in place when `out` already holds `count` values (and is not
/// shared), otherwise into new storage that is not zero-filled first (the old storage is freed before).
@inline(__always)
private func fillReusing<E>(_ out: inout [E], count: Int, _ fill: (UnsafeMutablePointer<E>) -> Void) {
    if out.count == count {
        out.withUnsafeMutableBufferPointer { o in if let to = o.baseAddress { fill(to) } }
    } else {
        out = []
        out = [E](unsafeUninitializedCapacity: count) { o, initialized in
            if let to = o.baseAddress { fill(to) }
            initialized = count
        }
    }
}

/// The row copy itself, with a concrete loop per precision so that it vectorizes: a plain copy for
/// `Double`, a packed double→single conversion for `Float` (round to nearest, as `Float(x)`).
@inline(__always)
private func gatherRows<T: BLASScalar>(
    _ from: UnsafePointer<Double>, width: Int, indices: [Int], to: UnsafeMutablePointer<T>
) {
    if T.self == Double.self {
        let to = UnsafeMutableRawPointer(to).assumingMemoryBound(to: Double.self)
        for (row, i) in indices.enumerated() { (to + row * width).update(from: from + i * width, count: width) }
    } else if T.self == Float.self {
        let to = UnsafeMutableRawPointer(to).assumingMemoryBound(to: Float.self)
        for (row, i) in indices.enumerated() { convertRow(from + i * width, to + row * width, count: width) }
    } else {
        for (row, i) in indices.enumerated() {
            let s = from + i * width, d = to + row * width
            for j in 0..<width { d[j] = T(s[j]) }
        }
    }
}

/// `to[j] = Float(from[j])` for `j < count`; non-generic so the compiler emits packed conversions.
@inline(never)
func convertRow(_ from: UnsafePointer<Double>, _ to: UnsafeMutablePointer<Float>, count: Int) {
    for j in 0..<count { to[j] = Float(from[j]) }
}
