import SaddleMath

// The ReLU passes, written so that they vectorize: every load is unconditional and the choice a
// select, not a branch (a branch on the sign of z mispredicts on about half the units and kept the
// backward pass from vectorizing; it cost ~10% of a training step). NaN in z selects 0, as z > 0
// is false for NaN, the same as the scalar definition in ScalarMath.

extension Evaluator {
    /// y = max(z, 0) elementwise (0 for NaN z).
    @inline(__always) func relu(_ z: UnsafePointer<T>, into y: UnsafeMutablePointer<T>, count: Int) {
        for i in 0..<count {
            let x = z[i]
            y[i] = x > 0 ? x : 0
        }
    }

    /// out = (z > 0 ? g : 0), or out += that when `accumulate`: the ReLU's Jacobian (diagonal, a
    /// mask) applied to g. With g = an R-value or a gradient this is both the R-forward and the
    /// backward pass of a ReLU.
    @inline(__always) func reluMask(
        _ z: UnsafePointer<T>, _ g: UnsafePointer<T>, into out: UnsafeMutablePointer<T>,
        count: Int, accumulate: Bool
    ) {
        if accumulate {
            for i in 0..<count {
                let zi = z[i], gi = g[i]
                out[i] += zi > 0 ? gi : 0
            }
        } else {
            for i in 0..<count {
                let zi = z[i], gi = g[i]
                out[i] = zi > 0 ? gi : 0
            }
        }
    }
}
