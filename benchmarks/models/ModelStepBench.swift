import SaddleMath
import Foundation
import SaddleModels
#if canImport(Glibc)
import Glibc
#endif

func now() -> Double { var t = timespec(); clock_gettime(CLOCK_MONOTONIC, &t); return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9 }

let spec = try ModelSpec(input: 784, layers: [
    .dense(DenseSpec(units: 256, activation: .relu)), .dense(DenseSpec(units: 256, activation: .relu)),
    .dense(DenseSpec(units: 10)),
], loss: .softmaxCrossEntropy, seed: 1)
let model = Model(spec: spec)
var rng = SeededRandom(seed: 2)
let rows = 128
let batch = Batch<Float>(inputs: (0..<(rows * 784)).map { _ in Float(rng.gaussian()) }, rows: rows, inputWidth: 784,
                         targets: .classes((0..<rows).map { _ in Int32(rng.next() % 10) }))
let e = model.makeEvaluator(Float.self)
let p = model.parameters(as: Float.self)
var g: [Float] = []
var hv: [Float] = []
let v = (0..<model.parameterCount).map { _ in Float(rng.gaussian()) }
// GEMM ceiling: the same GEMMs alone.
func time(_ label: String, _ n: Int, _ body: () throws -> Void) rethrows -> Double {
    for _ in 0..<10 { try body() }
    let t0 = now()
    for _ in 0..<n { try body() }
    let dt = (now() - t0) / Double(n)
    print("\(label): \(String(format: "%.3f", dt * 1e3)) ms, \(String(format: "%.0f", 1 / dt)) /s")
    return dt
}
let tl = try time("loss", 300) { _ = try e.loss(parameters: p, batch: batch) }
let tg = try time("loss+grad", 300) { _ = try e.lossAndGradient(parameters: p, batch: batch, gradient: &g) }
let th = try time("hvp", 200) { try e.hessianVectorProduct(parameters: p, batch: batch, vector: v, into: &hv) }
let tn = try time("gauss-newton", 200) { try e.gaussNewtonVectorProduct(parameters: p, batch: batch, vector: v, into: &hv) }
print("hvp/grad = \(th / tg), loss/grad = \(tl / tg)")
// Ceiling: the 5 GEMMs of a gradient step alone.
let a = [Float](repeating: 0.01, count: 128 * 784), w1 = [Float](repeating: 0.01, count: 256 * 784)
var c = [Float](repeating: 0, count: 256 * 784)
let tgemm = time("gemm-only grad ceiling", 300) {
    a.withUnsafeBufferPointer { ap in w1.withUnsafeBufferPointer { wp in c.withUnsafeMutableBufferPointer { cp in
        let A = ap.baseAddress!, W = wp.baseAddress!, C = cp.baseAddress!
        Float.gemm(transA: false, transB: true, m: 128, n: 256, k: 784, alpha: 1, a: A, lda: 784, b: W, ldb: 784, beta: 0, c: C, ldc: 256)
        Float.gemm(transA: false, transB: true, m: 128, n: 256, k: 256, alpha: 1, a: A, lda: 256, b: W, ldb: 256, beta: 0, c: C, ldc: 256)
        Float.gemm(transA: false, transB: true, m: 128, n: 10, k: 256, alpha: 1, a: A, lda: 256, b: W, ldb: 256, beta: 0, c: C, ldc: 10)
        Float.gemm(transA: true, transB: false, m: 10, n: 256, k: 128, alpha: 1, a: A, lda: 10, b: W, ldb: 256, beta: 0, c: C, ldc: 256)
        Float.gemm(transA: false, transB: false, m: 128, n: 256, k: 10, alpha: 1, a: A, lda: 10, b: W, ldb: 256, beta: 0, c: C, ldc: 256)
        Float.gemm(transA: true, transB: false, m: 256, n: 256, k: 128, alpha: 1, a: A, lda: 256, b: W, ldb: 256, beta: 0, c: C, ldc: 256)
        Float.gemm(transA: false, transB: false, m: 128, n: 256, k: 256, alpha: 1, a: A, lda: 256, b: W, ldb: 256, beta: 0, c: C, ldc: 256)
        Float.gemm(transA: true, transB: false, m: 256, n: 784, k: 128, alpha: 1, a: A, lda: 256, b: W, ldb: 784, beta: 0, c: C, ldc: 784)
    } } }
}
print("grad / gemm ceiling = \(tg / tgemm)")
