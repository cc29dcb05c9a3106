import SaddleMath

extension Evaluator {
    /// Reverse pass from the output gradient already in `grad(outputBuffer)`. Writes the gradient of
    /// every buffer but the input and, when `parameterGradient` is given, of every parameter.
    func backward(_ p: UnsafePointer<T>, rows: Int, parameterGradient: UnsafeMutablePointer<T>?) {
        for node in plan.nodes.reversed() { backward(node, p, rows: rows, parameterGradient: parameterGradient) }
    }

    func backward(_ node: ModelPlan.Node, _ p: UnsafePointer<T>, rows: Int, parameterGradient pg: UnsafeMutablePointer<T>?) {
        switch node {
        case .dense(let n):
            let g = grad(n.output)
            if let pg {
                T.gemm(transA: true, transB: false, m: n.outWidth, n: n.inWidth, k: rows, alpha: 1,
                       a: g, lda: n.outWidth, b: value(n.input), ldb: n.inWidth, beta: 0, c: pg + n.weight, ldc: n.inWidth)
                if let bias = n.bias { columnSums(g, rows: rows, width: n.outWidth, into: pg + bias) }
            }
            if n.input != 0 {
                T.gemm(transA: false, transB: false, m: rows, n: n.inWidth, k: n.outWidth, alpha: 1,
                       a: g, lda: n.outWidth, b: p + n.weight, ldb: n.inWidth, beta: n.accumulate ? 1 : 0,
                       c: grad(n.input), ldc: n.inWidth)
            }
        case .activation(let n):
            guard n.input != 0 else { return }
            let z = value(n.input), y = value(n.output), g = grad(n.output), gz = grad(n.input)
            let count = rows * n.width
            switch (n.activation, n.accumulate) {
            case (.relu, false): for i in 0..<count { gz[i] = z[i] > 0 ? g[i] : 0 }
            case (.tanh, false): for i in 0..<count { gz[i] = (1 - y[i] * y[i]) * g[i] }
            case (_, false): for i in 0..<count { gz[i] = activationDerivative(n.activation, z[i], y[i]) * g[i] }
            case (_, true): for i in 0..<count { gz[i] += activationDerivative(n.activation, z[i], y[i]) * g[i] }
            }
        case .layerNorm(let n):
            layerNormBackward(n, p, rows: rows, parameterGradient: pg)
        case .add(let n):
            let g = grad(n.output)
            let count = rows * n.width
            for (target, accumulate) in [(n.input, n.accumulateInput), (n.skip, n.accumulateSkip)] where target != 0 {
                let d = grad(target)
                if accumulate { for i in 0..<count { d[i] += g[i] } } else { d.update(from: g, count: count) }
            }
        }
    }

    @inline(__always) func columnSums(_ g: UnsafePointer<T>, rows: Int, width: Int, into out: UnsafeMutablePointer<T>) {
        for j in 0..<width { out[j] = 0 }
        for r in 0..<rows {
            let row = g + r * width
            for j in 0..<width { out[j] += row[j] }
        }
    }

    func layerNormBackward(_ n: ModelPlan.LayerNorm, _ p: UnsafePointer<T>, rows: Int,
                           parameterGradient pg: UnsafeMutablePointer<T>?)
    {
        let w = n.width
        let g = grad(n.output)
        let hat = arena + normHatOffset[n.slot], invStd = arena + normInvStdOffset[n.slot]
        let gamma = p + n.scale
        if let pg {
            let gGamma = pg + n.scale, gBeta = pg + n.shift
            for j in 0..<w { gGamma[j] = 0; gBeta[j] = 0 }
            for r in 0..<rows {
                let gr = g + r * w, hr = hat + r * w
                for j in 0..<w { gGamma[j] += gr[j] * hr[j]; gBeta[j] += gr[j] }
            }
        }
        guard n.input != 0 else { return }
        let gx = grad(n.input), inv = 1 / T(w)
        for r in 0..<rows {
            let gr = g + r * w, hr = hat + r * w, gxr = gx + r * w
            var meanG: T = 0, meanGH: T = 0
            for j in 0..<w { let gh = gr[j] * gamma[j]; meanG += gh; meanGH += gh * hr[j] }
            meanG *= inv
            meanGH *= inv
            let s = invStd[r]
            for j in 0..<w {
                let d = s * (gr[j] * gamma[j] - meanG - hr[j] * meanGH)
                if n.accumulate { gxr[j] += d } else { gxr[j] = d }
            }
        }
    }

    /// Reverse pass of the gradient and of its R-derivative together, from `grad`/`rGrad` of the
    /// output buffer; writes H·v into `hv`.
    func rBackward(_ p: UnsafePointer<T>, _ v: UnsafePointer<T>, rows: Int, hv: UnsafeMutablePointer<T>) {
        for node in plan.nodes.reversed() {
            backward(node, p, rows: rows, parameterGradient: nil)
            switch node {
            case .dense(let n):
                let g = grad(n.output), rg = rGrad(n.output)
                T.gemm(transA: true, transB: false, m: n.outWidth, n: n.inWidth, k: rows, alpha: 1,
                       a: rg, lda: n.outWidth, b: value(n.input), ldb: n.inWidth, beta: 0, c: hv + n.weight, ldc: n.inWidth)
                if let bias = n.bias { columnSums(rg, rows: rows, width: n.outWidth, into: hv + bias) }
                if n.input != 0 {
                    T.gemm(transA: true, transB: false, m: n.outWidth, n: n.inWidth, k: rows, alpha: 1,
                           a: g, lda: n.outWidth, b: rValue(n.input), ldb: n.inWidth, beta: 1, c: hv + n.weight,
                           ldc: n.inWidth)
                    let rgx = rGrad(n.input)
                    T.gemm(transA: false, transB: false, m: rows, n: n.inWidth, k: n.outWidth, alpha: 1,
                           a: rg, lda: n.outWidth, b: p + n.weight, ldb: n.inWidth, beta: n.accumulate ? 1 : 0,
                           c: rgx, ldc: n.inWidth)
                    T.gemm(transA: false, transB: false, m: rows, n: n.inWidth, k: n.outWidth, alpha: 1,
                           a: g, lda: n.outWidth, b: v + n.weight, ldb: n.inWidth, beta: 1, c: rgx, ldc: n.inWidth)
                }
            case .activation(let n):
                guard n.input != 0 else { continue }
                let z = value(n.input), y = value(n.output), rz = rValue(n.input)
                let g = grad(n.output), rg = rGrad(n.output), rgz = rGrad(n.input)
                let a = n.activation
                for i in 0..<(rows * n.width) {
                    let d = activationSecondDerivative(a, z[i], y[i]) * rz[i] * g[i]
                        + activationDerivative(a, z[i], y[i]) * rg[i]
                    if n.accumulate { rgz[i] += d } else { rgz[i] = d }
                }
            case .layerNorm(let n):
                layerNormRBackward(n, p, v, rows: rows, hv: hv)
            case .add(let n):
                let rg = rGrad(n.output)
                let count = rows * n.width
                for (target, accumulate) in [(n.input, n.accumulateInput), (n.skip, n.accumulateSkip)] where target != 0 {
                    let d = rGrad(target)
                    if accumulate { for i in 0..<count { d[i] += rg[i] } } else { d.update(from: rg, count: count) }
                }
            }
        }
    }

    func layerNormRBackward(_ n: ModelPlan.LayerNorm, _ p: UnsafePointer<T>, _ v: UnsafePointer<T>, rows: Int,
                            hv: UnsafeMutablePointer<T>)
    {
        let w = n.width
        let g = grad(n.output), rg = rGrad(n.output)
        let hat = arena + normHatOffset[n.slot], rHat = arena + normRHatOffset[n.slot]
        let invStd = arena + normInvStdOffset[n.slot], rInvStd = arena + normRInvStdOffset[n.slot]
        let gamma = p + n.scale, vGamma = v + n.scale
        let hGamma = hv + n.scale, hBeta = hv + n.shift
        for j in 0..<w { hGamma[j] = 0; hBeta[j] = 0 }
        for r in 0..<rows {
            let gr = g + r * w, rgr = rg + r * w, hr = hat + r * w, rhr = rHat + r * w
            for j in 0..<w { hGamma[j] += rgr[j] * hr[j] + gr[j] * rhr[j]; hBeta[j] += rgr[j] }
        }
        guard n.input != 0 else { return }
        let rgx = rGrad(n.input), inv = 1 / T(w)
        for r in 0..<rows {
            let gr = g + r * w, rgr = rg + r * w, hr = hat + r * w, rhr = rHat + r * w, out = rgx + r * w
            // gx̂ = g γ, R gx̂ = Rg γ + g Vγ; u = gx̂ − mean(gx̂) − x̂ c with c = mean(gx̂ x̂).
            var meanG: T = 0, c: T = 0, meanRG: T = 0, rc: T = 0
            for j in 0..<w {
                let gh = gr[j] * gamma[j], rgh = rgr[j] * gamma[j] + gr[j] * vGamma[j]
                meanG += gh
                c += gh * hr[j]
                meanRG += rgh
                rc += rgh * hr[j] + gh * rhr[j]
            }
            meanG *= inv
            c *= inv
            meanRG *= inv
            rc *= inv
            let s = invStd[r], rs = rInvStd[r]
            for j in 0..<w {
                let gh = gr[j] * gamma[j], rgh = rgr[j] * gamma[j] + gr[j] * vGamma[j]
                let u = gh - meanG - hr[j] * c
                let ru = rgh - meanRG - rhr[j] * c - hr[j] * rc
                let d = rs * u + s * ru
                if n.accumulate { out[j] += d } else { out[j] = d }
            }
        }
    }
}
