import SaddleMath

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

// Elementary functions for any BLASScalar, computed in Double (exact enough for Float, and the
// conversions fold away once specialized).
@inline(__always) func expT<T: BLASScalar>(_ x: T) -> T { T(exp(Double(x))) }
@inline(__always) func logT<T: BLASScalar>(_ x: T) -> T { T(log(Double(x))) }
@inline(__always) func log1pT<T: BLASScalar>(_ x: T) -> T { T(log1p(Double(x))) }
@inline(__always) func tanhT<T: BLASScalar>(_ x: T) -> T { T(tanh(Double(x))) }

/// Logistic sigmoid, stable for large |x|.
@inline(__always) func sigmoidT<T: BLASScalar>(_ x: T) -> T {
    let d = Double(x)
    if d >= 0 { return T(1 / (1 + exp(-d))) }
    let e = exp(d)
    return T(e / (1 + e))
}

/// Value, first and second derivative of an activation at a pre-activation z.
/// ReLU and leaky ReLU take the derivative at 0 from the left (0, resp. the slope), as PyTorch does.
@inline(__always) func activationValue<T: BLASScalar>(_ a: Activation, _ z: T) -> T {
    switch a {
    case .identity: return z
    case .relu: return z > 0 ? z : 0
    case .leakyRelu(let s): return z > 0 ? z : T(s) * z
    case .tanh: return tanhT(z)
    case .sigmoid: return sigmoidT(z)
    case .gelu:
        let d = Double(z)
        return T(0.5 * d * (1 + erf(d * 0.70710678118654752440)))
    case .softplus:
        let d = Double(z)
        return T(max(d, 0) + log1p(exp(-abs(d))))
    }
}

/// φ'(z) given z and y = φ(z).
@inline(__always) func activationDerivative<T: BLASScalar>(_ a: Activation, _ z: T, _ y: T) -> T {
    switch a {
    case .identity: return 1
    case .relu: return z > 0 ? 1 : 0
    case .leakyRelu(let s): return z > 0 ? 1 : T(s)
    case .tanh: return 1 - y * y
    case .sigmoid: return y * (1 - y)
    case .gelu:
        let d = Double(z)
        let cdf = 0.5 * (1 + erf(d * 0.70710678118654752440))
        let pdf = exp(-0.5 * d * d) * 0.39894228040143267794
        return T(cdf + d * pdf)
    case .softplus: return sigmoidT(z)
    }
}

/// φ''(z) given z and y = φ(z).
@inline(__always) func activationSecondDerivative<T: BLASScalar>(_ a: Activation, _ z: T, _ y: T) -> T {
    switch a {
    case .identity, .relu, .leakyRelu: return 0
    case .tanh: return -2 * y * (1 - y * y)
    case .sigmoid: return y * (1 - y) * (1 - 2 * y)
    case .gelu:
        let d = Double(z)
        return T(exp(-0.5 * d * d) * 0.39894228040143267794 * (2 - d * d))
    case .softplus:
        let s = sigmoidT(z)
        return s * (1 - s)
    }
}
