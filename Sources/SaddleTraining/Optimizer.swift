import SaddleMath

/// What one optimizer step did, for step events.
public struct OptimizerStepInfo: Sendable, Equatable {
    /// The learning rate used (after the schedule).
    public var lr: Double
    /// ‖g‖₂ of the gradient as computed, before clipping and noise (what `clip_grad_norm_` returns).
    public var gradNorm: Double
    /// Whether clipping scaled the gradient down.
    public var clipped: Bool
}

/// A first-order optimizer over one flat parameter vector, following PyTorch's update rules exactly
/// (single-tensor `torch.optim` implementations; see ``OptimizerConfig`` for defaults and formulas).
///
/// Per step, in this order: the global gradient norm is measured; the gradient is clipped to
/// `clipNorm` (g ← g·min(1, clipNorm/(‖g‖ + 1e-6)), as `clip_grad_norm_`); Gaussian noise is added
/// if configured; then the update rule runs with lr from the schedule at the 0-based update index.
/// Scalars (bias corrections, step sizes) are computed in `Double` as PyTorch does in Python floats;
/// element arithmetic runs in `T`.
///
/// NaN behaviour: a non-finite gradient norm leaves the gradient unscaled (it is not clipped), so
/// NaN/∞ propagate into the parameters and the next loss, where the trainer reports divergence.
public struct Optimizer<T: BLASScalar>: Sendable {
    public let config: OptimizerConfig
    public let parameterCount: Int
    /// Updates applied so far (PyTorch's `state["step"]`).
    public private(set) var stepCount: Int = 0
    private var first: [T]  // SGD momentum buffer, Adam exp_avg, RMSprop square_avg, Adagrad sum
    private var second: [T]  // Adam exp_avg_sq, RMSprop momentum buffer
    private var third: [T]  // RMSprop grad_avg (centered)
    private var noiseRandom: SeededRandom

    /// - Parameters:
    ///   - seed: seeds the gradient noise (unless the config names its own seed); irrelevant without noise.
    public init(config: OptimizerConfig, parameterCount: Int, seed: UInt64 = 0) {
        self.config = config
        self.parameterCount = parameterCount
        let n = parameterCount
        switch config.kind {
        case .sgd, .momentum, .nesterov:
            first = config.momentum != 0 ? [T](repeating: 0, count: n) : []
            second = []
            third = []
        case .adam, .adamw:
            first = [T](repeating: 0, count: n)
            second = [T](repeating: 0, count: n)
            third = []
        case .rmsprop:
            first = [T](repeating: 0, count: n)
            second = config.momentum > 0 ? [T](repeating: 0, count: n) : []
            third = config.centered ? [T](repeating: 0, count: n) : []
        case .adagrad:
            first = [T](repeating: T(config.initialAccumulatorValue), count: n)
            second = []
            third = []
        }
        noiseRandom = SeededRandom(seed: config.noise?.seed ?? (seed ^ 0x6E6F_6973_6521))
    }

    /// The learning rate the next step will use.
    public var nextLearningRate: Double { config.schedule.learningRate(base: config.lr, step: stepCount) }

    /// Applies one update to `params` from `grad`. `grad` is used as scratch: on return it holds the
    /// clipped, noised, weight-decayed gradient the rule consumed.
    /// - Precondition: both arrays have `parameterCount` elements.
    // Instantiated from other modules: specialized here so the hot loop is not generic code.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public mutating func step(params: inout [T], grad: inout [T]) -> OptimizerStepInfo {
        precondition(params.count == parameterCount && grad.count == parameterCount, "parameter count mismatch")
        let n = parameterCount
        let lr = nextLearningRate
        stepCount += 1
        let norm = Double(
            grad.withUnsafeBufferPointer { g -> T in
                guard let base = g.baseAddress, n > 0 else { return 0 }
                // √(g·g) is a plain vectorized dot, several times cheaper than BLAS's overflow-safe nrm2; only
                // when g·g overflows (or is not finite) does nrm2 decide.
                let squares = T.dot(count: n, x: base, y: base)
                return squares.isFinite ? squares.squareRoot() : T.nrm2(count: n, x: base)
            })
        var clipped = false
        if let maxNorm = config.clipNorm, norm.isFinite {
            let coef = maxNorm / (norm + 1e-6)
            if coef < 1 {
                clipped = true
                let c = T(coef)
                for i in 0..<n { grad[i] *= c }
            }
        }
        if let noise = config.noise, noise.std > 0 {
            for i in 0..<n { grad[i] += T(noise.std * noiseRandom.gaussian()) }
        }
        switch config.kind {
        case .sgd, .momentum, .nesterov: sgd(&params, &grad, lr: lr)
        case .adam, .adamw: adam(&params, &grad, lr: lr)
        case .rmsprop: rmsprop(&params, &grad, lr: lr)
        case .adagrad: adagrad(&params, &grad, lr: lr)
        }
        return OptimizerStepInfo(lr: lr, gradNorm: norm, clipped: clipped)
    }

    /// g ← g + wd·p (coupled L2 decay).
    private func coupleDecay(_ p: UnsafeMutableBufferPointer<T>, _ g: UnsafeMutableBufferPointer<T>) {
        guard config.weightDecay != 0 else { return }
        let wd = T(config.weightDecay)
        for i in 0..<p.count { g[i] += wd * p[i] }
    }

    // Instantiated from other modules: specialized here so the hot loop is not generic code.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    private mutating func sgd(_ params: inout [T], _ grad: inout [T], lr: Double) {
        let mu = T(config.momentum), damp = T(1 - config.dampening), negLr = T(-lr)
        let isFirst = stepCount == 1
        let nesterov = config.nesterov
        params.withUnsafeMutableBufferPointer { p in
            grad.withUnsafeMutableBufferPointer { g in
                coupleDecay(p, g)
                if config.momentum == 0 {
                    for i in 0..<p.count { p[i] += negLr * g[i] }
                    return
                }
                first.withUnsafeMutableBufferPointer { buf in
                    for i in 0..<p.count {
                        buf[i] = isFirst ? g[i] : mu * buf[i] + damp * g[i]
                        let d = nesterov ? g[i] + mu * buf[i] : buf[i]
                        p[i] += negLr * d
                    }
                }
            }
        }
    }

    // Instantiated from other modules: specialized here so the hot loop is not generic code.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    private mutating func adam(_ params: inout [T], _ grad: inout [T], lr: Double) {
        let b1 = config.beta1, b2 = config.beta2
        let t = Double(stepCount)
        let stepSize = T(lr / (1 - pow(b1, t)))
        let bc2Sqrt = T((1 - pow(b2, t)).squareRoot())
        let oneMinusB1 = T(1 - b1), tb2 = T(b2), oneMinusB2 = T(1 - b2), eps = T(config.eps)
        let decoupled = config.kind == .adamw
        let shrink = T(1 - lr * config.weightDecay)
        params.withUnsafeMutableBufferPointer { p in
            grad.withUnsafeMutableBufferPointer { g in
                if decoupled {
                    if config.weightDecay != 0 { for i in 0..<p.count { p[i] *= shrink } }
                } else {
                    coupleDecay(p, g)
                }
                first.withUnsafeMutableBufferPointer { m in
                    second.withUnsafeMutableBufferPointer { v in
                        for i in 0..<p.count {
                            m[i] += oneMinusB1 * (g[i] - m[i])  // lerp, as PyTorch
                            v[i] = tb2 * v[i] + oneMinusB2 * g[i] * g[i]
                            let denom = v[i].squareRoot() / bc2Sqrt + eps
                            p[i] -= stepSize * (m[i] / denom)
                        }
                    }
                }
            }
        }
    }

    // Instantiated from other modules: specialized here so the hot loop is not generic code.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    private mutating func rmsprop(_ params: inout [T], _ grad: inout [T], lr: Double) {
        let a = T(config.alpha), oneMinusA = T(1 - config.alpha), eps = T(config.eps)
        let mu = T(config.momentum), tlr = T(lr)
        let centered = config.centered, useMomentum = config.momentum > 0
        params.withUnsafeMutableBufferPointer { p in
            grad.withUnsafeMutableBufferPointer { g in
                coupleDecay(p, g)
                first.withUnsafeMutableBufferPointer { sq in
                    second.withUnsafeMutableBufferPointer { buf in
                        third.withUnsafeMutableBufferPointer { ga in
                            for i in 0..<p.count {
                                sq[i] = a * sq[i] + oneMinusA * g[i] * g[i]
                                var avg: T
                                if centered {
                                    ga[i] += oneMinusA * (g[i] - ga[i])
                                    avg = (sq[i] - ga[i] * ga[i]).squareRoot()
                                } else {
                                    avg = sq[i].squareRoot()
                                }
                                avg += eps
                                if useMomentum {
                                    buf[i] = mu * buf[i] + g[i] / avg
                                    p[i] -= tlr * buf[i]
                                } else {
                                    p[i] -= tlr * (g[i] / avg)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    // Instantiated from other modules: specialized here so the hot loop is not generic code.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    private mutating func adagrad(_ params: inout [T], _ grad: inout [T], lr: Double) {
        let clr = T(lr / (1 + Double(stepCount - 1) * config.lrDecay)), eps = T(config.eps)
        params.withUnsafeMutableBufferPointer { p in
            grad.withUnsafeMutableBufferPointer { g in
                coupleDecay(p, g)
                first.withUnsafeMutableBufferPointer { s in
                    for i in 0..<p.count {
                        s[i] += g[i] * g[i]
                        p[i] -= clr * (g[i] / (s[i].squareRoot() + eps))
                    }
                }
            }
        }
    }
}

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif
