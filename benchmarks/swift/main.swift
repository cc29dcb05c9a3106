import Foundation
import SaddleMath
import SaddleModels

#if canImport(Glibc)
import Glibc
#endif

/// `saddle-bench step`: the numeric core on an MLP 784-256-256-10 (ReLU, softmax cross-entropy,
/// batch 128, Float, PyTorch's default init), as benchmarks/models.py compares it with JAX and PyTorch.
/// Prints one JSON object: training steps per second (forward + backward + an SGD update), and the
/// times of a gradient, an exact Hessian-vector product and a Gauss–Newton product.
func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

/// Best of `rounds` rounds of `n` calls, seconds per call (best-of is robust to a shared machine).
func measure(_ n: Int, rounds: Int = 5, _ body: () throws -> Void) rethrows -> Double {
    for _ in 0..<10 { try body() }
    var best = Double.infinity
    for _ in 0..<rounds {
        let t0 = now()
        for _ in 0..<n { try body() }
        best = min(best, (now() - t0) / Double(n))
    }
    return best
}

func step() throws {
    let spec = try ModelSpec(input: 784, layers: [
        .dense(DenseSpec(units: 256, activation: .relu)), .dense(DenseSpec(units: 256, activation: .relu)),
        .dense(DenseSpec(units: 10)),
    ], loss: .softmaxCrossEntropy, seed: 1)
    let model = Model(spec: spec)
    var rng = SeededRandom(seed: 2)
    let rows = 128
    let batch = Batch<Float>(inputs: (0..<(rows * 784)).map { _ in Float(rng.gaussian()) }, rows: rows, inputWidth: 784,
                             targets: .classes((0..<rows).map { _ in Int32(rng.next() % 10) }))
    let evaluator = model.makeEvaluator(Float.self)
    var parameters = model.parameters(as: Float.self)
    var gradient: [Float] = []
    var product: [Float] = []
    let v = (0..<model.parameterCount).map { _ in Float(rng.gaussian()) }
    let train = try measure(100) {
        _ = try evaluator.lossAndGradient(parameters: parameters, batch: batch, gradient: &gradient)
        parameters.withUnsafeMutableBufferPointer { p in
            gradient.withUnsafeBufferPointer { g in
                if let pb = p.baseAddress, let gb = g.baseAddress { Float.axpy(count: p.count, alpha: -1e-3, x: gb, y: pb) }
            }
        }
    }
    let fixed = model.parameters(as: Float.self)
    let grad = try measure(100) { _ = try evaluator.lossAndGradient(parameters: fixed, batch: batch, gradient: &gradient) }
    let hvp = try measure(60) { try evaluator.hessianVectorProduct(parameters: fixed, batch: batch, vector: v, into: &product) }
    let gn = try measure(60) { try evaluator.gaussNewtonVectorProduct(parameters: fixed, batch: batch, vector: v, into: &product) }
    print("""
        {"stepsPerSecond": \(1 / train), "gradientMs": \(grad * 1e3), "hvpMs": \(hvp * 1e3), "gaussNewtonMs": \(gn * 1e3), \
        "hvpOverGradient": \(hvp / grad), "parameters": \(model.parameterCount)}
        """)
}

switch CommandLine.arguments.dropFirst().first {
case "step": try step()
default:
    FileHandle.standardError.write(Data("usage: saddle-bench step\n".utf8))
    exit(2)
}
