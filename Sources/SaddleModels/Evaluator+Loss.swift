import SaddleMath

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

extension Evaluator {
    /// The mean loss of the output buffer against the targets. Keeps what ``lossCurvature(rows:into:)``
    /// needs (softmax probabilities, sigmoids) and, if `gradient`, writes dLoss/dOutput into the output's
    /// gradient. The loss is summed in Double.
    func lossHead(_ targets: Targets<T>, rows: Int, gradient: Bool) -> T {
        let k = plan.outputWidth
        let out = value(plan.outputBuffer), g = grad(plan.outputBuffer), aux = lossAux
        var total = 0.0
        switch (loss, targets) {
        case (.softmaxCrossEntropy, .classes(let classes)):
            let scale = 1 / T(rows)
            classes.withUnsafeBufferPointer { cls in
                for r in 0..<rows {
                    let o = out + r * k, pr = aux + r * k
                    var m = o[0]
                    for j in 1..<max(k, 1) where o[j] > m { m = o[j] }
                    var sum: T = 0
                    for j in 0..<k { let e = expT(o[j] - m); pr[j] = e; sum += e }
                    let inv = 1 / sum
                    for j in 0..<k { pr[j] *= inv }
                    let y = Int(cls[r])
                    total += Double(m) + log(Double(sum)) - Double(o[y])
                    if gradient {
                        let gr = g + r * k
                        for j in 0..<k { gr[j] = pr[j] * scale }
                        gr[y] -= scale
                    }
                }
            }
            return T(total / Double(rows))
        case (.mse, .dense(let y, _)):
            let count = rows * k, scale = 2 / T(count)
            y.withUnsafeBufferPointer { yp in
                for i in 0..<count {
                    let d = out[i] - yp[i]
                    total += Double(d) * Double(d)
                    if gradient { g[i] = scale * d }
                }
            }
            return T(total / Double(count))
        case (.binaryCrossEntropy, .dense(let y, _)):
            let count = rows * k, scale = 1 / T(count)
            y.withUnsafeBufferPointer { yp in
                for i in 0..<count {
                    let o = Double(out[i]), t = Double(yp[i])
                    total += max(o, 0) - o * t + log1p(exp(-abs(o)))
                    let s = sigmoidT(out[i])
                    aux[i] = s
                    if gradient { g[i] = scale * (s - yp[i]) }
                }
            }
            return T(total / Double(count))
        default:
            preconditionFailure("targets were checked against the loss")
        }
    }

    /// dest = H_loss · R(output): the loss's Hessian with respect to the outputs applied to the output's
    /// R-value. Requires ``lossHead(_:rows:gradient:)`` on the same batch first.
    func lossCurvature(rows: Int, into dest: UnsafeMutablePointer<T>) {
        let k = plan.outputWidth
        let r = rValue(plan.outputBuffer), aux = lossAux
        switch loss {
        case .mse:
            let count = rows * k, scale = 2 / T(count)
            for i in 0..<count { dest[i] = scale * r[i] }
        case .binaryCrossEntropy:
            let count = rows * k, scale = 1 / T(count)
            for i in 0..<count { dest[i] = scale * aux[i] * (1 - aux[i]) * r[i] }
        case .softmaxCrossEntropy:
            let scale = 1 / T(rows)
            for row in 0..<rows {
                let pr = aux + row * k, rr = r + row * k, d = dest + row * k
                var dot: T = 0
                for j in 0..<k { dot += pr[j] * rr[j] }
                for j in 0..<k { d[j] = scale * pr[j] * (rr[j] - dot) }
            }
        }
    }
}
