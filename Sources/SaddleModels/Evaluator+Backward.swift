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
                T.gemm(
                    transA: true, transB: false, m: n.outWidth, n: n.inWidth, k: rows, alpha: 1,
                    a: g, lda: n.outWidth, b: value(n.input), ldb: n.inWidth, beta: 0, c: pg + n.weight, ldc: n.inWidth)
                if let bias = n.bias { columnSums(g, rows: rows, width: n.outWidth, into: pg + bias) }
            }
            if n.input != 0 {
                T.gemm(
                    transA: false, transB: false, m: rows, n: n.inWidth, k: n.outWidth, alpha: 1,
                    a: g, lda: n.outWidth, b: p + n.weight, ldb: n.inWidth, beta: n.accumulate ? 1 : 0,
                    c: grad(n.input), ldc: n.inWidth)
            }
        case .activation(let n):
            guard n.input != 0 else { return }
            activationBackward(n, from: grad(n.output), into: grad(n.input), rows: rows)
        case .layerNorm(let n):
            layerNormBackward(
                n, p, rows: rows, from: grad(n.output), into: n.input != 0 ? grad(n.input) : nil,
                parameterGradient: pg)
        case .add(let n):
            addBackward(n, from: grad(n.output), rows: rows, into: grad)
        }
    }

    /// into = φ'(z)·g (or +=, when the node accumulates): an activation's backward pass.
    @inline(__always) func activationBackward(
        _ n: ModelPlan.ActivationNode, from g: UnsafePointer<T>,
        into gz: UnsafeMutablePointer<T>, rows: Int
    ) {
        let z = value(n.input), y = value(n.output)
        let count = rows * n.width
        switch (n.activation, n.accumulate) {
        case (.relu, _): reluMask(z, g, into: gz, count: count, accumulate: n.accumulate)
        case (.tanh, false): for i in 0..<count { let yi = y[i]; gz[i] = (1 - yi * yi) * g[i] }
        case (_, false): for i in 0..<count { gz[i] = activationDerivative(n.activation, z[i], y[i]) * g[i] }
        case (_, true): for i in 0..<count { gz[i] += activationDerivative(n.activation, z[i], y[i]) * g[i] }
        }
    }

    /// A residual sum's backward pass: its output's gradient goes to both inputs.
    @inline(__always) func addBackward(
        _ n: ModelPlan.Add, from g: UnsafePointer<T>, rows: Int,
        into buffer: (Int) -> UnsafeMutablePointer<T>
    ) {
        let count = rows * n.width
        for (target, accumulate) in [(n.input, n.accumulateInput), (n.skip, n.accumulateSkip)] where target != 0 {
            let d = buffer(target)
            if accumulate { for i in 0..<count { d[i] += g[i] } } else { d.update(from: g, count: count) }
        }
    }

    @inline(__always) func columnSums(_ g: UnsafePointer<T>, rows: Int, width: Int, into out: UnsafeMutablePointer<T>) {
        for j in 0..<width { out[j] = 0 }
        for r in 0..<rows {
            let row = g + r * width
            for j in 0..<width { out[j] += row[j] }
        }
    }

    /// A layernorm's backward pass of `g` (its output's gradient, or for Gauss–Newton products its
    /// R-gradient) into `gx` and the scale and shift gradients.
    func layerNormBackward(
        _ n: ModelPlan.LayerNorm, _ p: UnsafePointer<T>, rows: Int, from g: UnsafePointer<T>,
        into gx: UnsafeMutablePointer<T>?, parameterGradient pg: UnsafeMutablePointer<T>?
    ) {
        let w = n.width
        let hat = normHat(n.slot), invStd = normInvStd(n.slot)
        let gamma = p + n.scale
        if let pg {
            let gGamma = pg + n.scale, gBeta = pg + n.shift
            for j in 0..<w { gGamma[j] = 0; gBeta[j] = 0 }
            for r in 0..<rows {
                let gr = g + r * w, hr = hat + r * w
                for j in 0..<w { gGamma[j] += gr[j] * hr[j]; gBeta[j] += gr[j] }
            }
        }
        guard let gx else { return }
        let inv = 1 / T(w)
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

    /// Reverse pass of the R-derivative of the gradient, from `rGrad` of the output buffer, reading the
    /// primal values and gradients the primal passes left; writes H·v into `hv`. With `gaussNewton`,
    /// the second-order terms (those with a primal gradient or an activation's second derivative) are
    /// left out: that is the plain backward pass of H_loss·J·v, so `hv` receives G·v.
    func rBackward(
        _ p: UnsafePointer<T>, _ v: UnsafePointer<T>, rows: Int, hv: UnsafeMutablePointer<T>,
        gaussNewton: Bool
    ) {
        for node in plan.nodes.reversed() {
            switch node {
            case .dense(let n):
                let rg = rGrad(n.output)
                T.gemm(
                    transA: true, transB: false, m: n.outWidth, n: n.inWidth, k: rows, alpha: 1,
                    a: rg, lda: n.outWidth, b: value(n.input), ldb: n.inWidth, beta: 0, c: hv + n.weight, ldc: n.inWidth)
                if let bias = n.bias { columnSums(rg, rows: rows, width: n.outWidth, into: hv + bias) }
                guard n.input != 0 else { continue }
                let g = grad(n.output), rgx = rGrad(n.input)
                if !gaussNewton {
                    T.gemm(
                        transA: true, transB: false, m: n.outWidth, n: n.inWidth, k: rows, alpha: 1,
                        a: g, lda: n.outWidth, b: rValue(n.input), ldb: n.inWidth, beta: 1, c: hv + n.weight,
                        ldc: n.inWidth)
                }
                T.gemm(
                    transA: false, transB: false, m: rows, n: n.inWidth, k: n.outWidth, alpha: 1,
                    a: rg, lda: n.outWidth, b: p + n.weight, ldb: n.inWidth, beta: n.accumulate ? 1 : 0,
                    c: rgx, ldc: n.inWidth)
                if !gaussNewton {
                    T.gemm(
                        transA: false, transB: false, m: rows, n: n.inWidth, k: n.outWidth, alpha: 1,
                        a: g, lda: n.outWidth, b: v + n.weight, ldb: n.inWidth, beta: 1, c: rgx, ldc: n.inWidth)
                }
            case .activation(let n):
                guard n.input != 0 else { continue }
                let a = n.activation
                let rg = rGrad(n.output), rgz = rGrad(n.input)
                switch a {
                case .identity, .relu, .leakyRelu:
                    // φ'' = 0: the R-backward is the plain backward of the R-gradient.
                    activationBackward(n, from: rg, into: rgz, rows: rows)
                default:
                    if gaussNewton {
                        activationBackward(n, from: rg, into: rgz, rows: rows)
                        continue
                    }
                    let z = value(n.input), y = value(n.output), rz = rValue(n.input), g = grad(n.output)
                    for i in 0..<(rows * n.width) {
                        let d =
                            activationSecondDerivative(a, z[i], y[i]) * rz[i] * g[i]
                            + activationDerivative(a, z[i], y[i]) * rg[i]
                        if n.accumulate { rgz[i] += d } else { rgz[i] = d }
                    }
                }
            case .layerNorm(let n):
                if gaussNewton {
                    layerNormBackward(
                        n, p, rows: rows, from: rGrad(n.output), into: n.input != 0 ? rGrad(n.input) : nil,
                        parameterGradient: hv)
                } else {
                    layerNormRBackward(n, p, v, rows: rows, hv: hv)
                }
            case .add(let n):
                addBackward(n, from: rGrad(n.output), rows: rows, into: rGrad)
            }
        }
    }

    func layerNormRBackward(
        _ n: ModelPlan.LayerNorm, _ p: UnsafePointer<T>, _ v: UnsafePointer<T>, rows: Int,
        hv: UnsafeMutablePointer<T>
    ) {
        let w = n.width
        let g = grad(n.output), rg = rGrad(n.output)
        let hat = normHat(n.slot), rHat = arena + normRHatOffset[n.slot]
        let invStd = normInvStd(n.slot), rInvStd = arena + normRInvStdOffset[n.slot]
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
