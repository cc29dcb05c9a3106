import SaddleMath

extension Evaluator {
    /// Forward pass: every buffer's values for `rows` rows of buffer 0.
    func forward(_ p: UnsafePointer<T>, rows: Int) {
        var fused = -1
        for (index, node) in plan.nodes.enumerated() where index != fused {
            switch node {
            case .dense(let n):
                let z = value(n.output)
                T.gemm(
                    transA: false, transB: true, m: rows, n: n.outWidth, k: n.inWidth, alpha: 1,
                    a: value(n.input), lda: n.inWidth, b: p + n.weight, ldb: n.inWidth, beta: 0, c: z, ldc: n.outWidth)
                // Bias and a following ReLU or tanh in one pass over the output.
                if index + 1 < plan.nodes.count, case .activation(let a) = plan.nodes[index + 1], a.input == n.output,
                    a.activation == .relu || a.activation == .tanh
                {
                    biasActivation(
                        p, bias: n.bias, z: z, y: value(a.output), rows: rows, width: n.outWidth,
                        tanh: a.activation == .tanh)
                    fused = index + 1
                } else if let bias = n.bias {
                    addRowVector(p + bias, to: z, rows: rows, width: n.outWidth)
                }
            case .activation(let n):
                let z = value(n.input), y = value(n.output)
                let count = rows * n.width
                switch n.activation {
                case .identity: y.update(from: z, count: count)
                case .relu: relu(z, into: y, count: count)
                case .tanh: for i in 0..<count { y[i] = tanhT(z[i]) }
                default: for i in 0..<count { y[i] = activationValue(n.activation, z[i]) }
                }
            case .layerNorm(let n):
                layerNormForward(n, p, rows: rows)
            case .add(let n):
                let a = value(n.input), b = value(n.skip), y = value(n.output)
                for i in 0..<(rows * n.width) { y[i] = a[i] + b[i] }
            }
        }
    }

    @inline(__always) func biasActivation(
        _ p: UnsafePointer<T>, bias: Int?, z: UnsafeMutablePointer<T>,
        y: UnsafeMutablePointer<T>, rows: Int, width: Int, tanh: Bool
    ) {
        let b = bias.map { p + $0 }
        for r in 0..<rows {
            let zr = z + r * width, yr = y + r * width
            if let b { for j in 0..<width { zr[j] += b[j] } }
            if tanh {
                for j in 0..<width { yr[j] = tanhT(zr[j]) }
            } else {
                relu(zr, into: yr, count: width)
            }
        }
    }

    @inline(__always) func addRowVector(_ b: UnsafePointer<T>, to z: UnsafeMutablePointer<T>, rows: Int, width: Int) {
        for r in 0..<rows {
            let row = z + r * width
            for j in 0..<width { row[j] += b[j] }
        }
    }

    func layerNormForward(_ n: ModelPlan.LayerNorm, _ p: UnsafePointer<T>, rows: Int) {
        let w = n.width
        let x = value(n.input), y = value(n.output)
        let hat = normHat(n.slot), invStd = normInvStd(n.slot)
        let gamma = p + n.scale, beta = p + n.shift
        let eps = T(n.eps), inv = 1 / T(w)
        for r in 0..<rows {
            let xr = x + r * w, hr = hat + r * w, yr = y + r * w
            var mean: T = 0
            for j in 0..<w { mean += xr[j] }
            mean *= inv
            var variance: T = 0
            for j in 0..<w { let d = xr[j] - mean; variance += d * d }
            variance *= inv
            let s = 1 / (variance + eps).squareRoot()
            invStd[r] = s
            for j in 0..<w {
                let h = (xr[j] - mean) * s
                hr[j] = h
                yr[j] = gamma[j] * h + beta[j]
            }
        }
    }

    /// R-forward pass: the directional derivative of every buffer along parameter direction `v`.
    func rForward(_ p: UnsafePointer<T>, _ v: UnsafePointer<T>, rows: Int) {
        for node in plan.nodes {
            switch node {
            case .dense(let n):
                let rz = rValue(n.output)
                T.gemm(
                    transA: false, transB: true, m: rows, n: n.outWidth, k: n.inWidth, alpha: 1,
                    a: value(n.input), lda: n.inWidth, b: v + n.weight, ldb: n.inWidth, beta: 0, c: rz, ldc: n.outWidth)
                if n.input != 0 {
                    T.gemm(
                        transA: false, transB: true, m: rows, n: n.outWidth, k: n.inWidth, alpha: 1,
                        a: rValue(n.input), lda: n.inWidth, b: p + n.weight, ldb: n.inWidth, beta: 1, c: rz,
                        ldc: n.outWidth)
                }
                if let bias = n.bias { addRowVector(v + bias, to: rz, rows: rows, width: n.outWidth) }
            case .activation(let n):
                let z = value(n.input), y = value(n.output), rz = rValue(n.input), ry = rValue(n.output)
                let count = rows * n.width
                switch n.activation {
                case .relu: reluMask(z, rz, into: ry, count: count, accumulate: false)
                case .identity: ry.update(from: rz, count: count)
                case .tanh: for i in 0..<count { let yi = y[i]; ry[i] = (1 - yi * yi) * rz[i] }
                default: for i in 0..<count { ry[i] = activationDerivative(n.activation, z[i], y[i]) * rz[i] }
                }
            case .layerNorm(let n):
                layerNormRForward(n, p, v, rows: rows)
            case .add(let n):
                let a = rValue(n.input), b = rValue(n.skip), y = rValue(n.output)
                for i in 0..<(rows * n.width) { y[i] = a[i] + b[i] }
            }
        }
    }

    func layerNormRForward(_ n: ModelPlan.LayerNorm, _ p: UnsafePointer<T>, _ v: UnsafePointer<T>, rows: Int) {
        let w = n.width
        let rx = rValue(n.input), ry = rValue(n.output)
        let hat = normHat(n.slot), rHat = arena + normRHatOffset[n.slot]
        let invStd = normInvStd(n.slot), rInvStd = arena + normRInvStdOffset[n.slot]
        let gamma = p + n.scale, vGamma = v + n.scale, vBeta = v + n.shift
        let inv = 1 / T(w)
        for r in 0..<rows {
            let hr = hat + r * w, rhr = rHat + r * w, rxr = rx + r * w, ryr = ry + r * w
            let s = invStd[r]
            var meanR: T = 0, meanHatR: T = 0
            for j in 0..<w { meanR += rxr[j]; meanHatR += hr[j] * rxr[j] }
            meanR *= inv
            meanHatR *= inv
            rInvStd[r] = -s * s * meanHatR
            for j in 0..<w {
                let rh = s * (rxr[j] - meanR - hr[j] * meanHatR)
                rhr[j] = rh
                ryr[j] = vGamma[j] * hr[j] + gamma[j] * rh + vBeta[j]
            }
        }
    }
}
