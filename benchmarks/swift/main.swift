import Foundation
import SaddleMath
import SaddleModels

#if canImport(Glibc)
    import Glibc
#endif

/// `saddle-bench step`: the numeric core on an MLP 784-256-256-10 (ReLU, softmax cross-entropy,
/// batch 128, Float, PyTorch's default init), as benchmarks/models.py compares it with JAX and PyTorch.
/// Prints one JSON object: training steps per second (forward + backward + an SGD update), the time
/// of a gradient, and of curvature products two ways:
///   - `hvpFirstMs`: the first Hessian-vector product at a point, which runs the primal forward and
///     backward passes too (a lone product, as PyTorch's double backward or JAX's jvp(grad) does);
///   - `hvpMs`: each further product at the same point and batch, from a kept ``Linearization``
///     (the R-passes only, as after `jax.linearize`). Lanczos, power iteration, Hutchinson and SLQ
///     apply many products at one point, so this amortized figure is the one the HVP target
///     (≤ 1.5 gradients, no slower than JAX's HVP) is compared with.
/// Gauss–Newton products likewise (`gaussNewtonFirstMs`, `gaussNewtonMs`).
/// `saddle-bench profile step|hvp|hvp-first SECONDS` runs one of them alone, for `perf record`.
func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

/// Times several bodies in interleaved rounds: each round runs every body `n` times in turn, and
/// each body keeps its best round (seconds per call). Interleaving exposes every body to the same
/// load from other processes on a shared machine, so their ratios stay meaningful.
func measure(rounds: Int, _ bodies: [(n: Int, body: () throws -> Void)]) throws -> [Double] {
    for b in bodies { for _ in 0..<5 { try b.body() } }
    var best = [Double](repeating: .infinity, count: bodies.count)
    for _ in 0..<rounds {
        for (i, b) in bodies.enumerated() {
            let t0 = now()
            for _ in 0..<b.n { try b.body() }
            best[i] = min(best[i], (now() - t0) / Double(b.n))
        }
    }
    return best
}

/// The benchmark's model and batch.
func setup() throws -> (Model, Batch<Float>) {
    let spec = try ModelSpec(
        input: 784,
        layers: [
            .dense(DenseSpec(units: 256, activation: .relu)), .dense(DenseSpec(units: 256, activation: .relu)),
            .dense(DenseSpec(units: 10)),
        ], loss: .softmaxCrossEntropy, seed: 1)
    let model = Model(spec: spec)
    var rng = SeededRandom(seed: 2)
    let rows = 128
    let batch = Batch<Float>(
        inputs: (0..<(rows * 784)).map { _ in Float(rng.gaussian()) }, rows: rows, inputWidth: 784,
        targets: .classes((0..<rows).map { _ in Int32(rng.next() % 10) }))
    return (model, batch)
}

func step() throws {
    let (model, batch) = try setup()
    var rng = SeededRandom(seed: 3)
    let evaluator = model.makeEvaluator(Float.self)
    var parameters = model.parameters(as: Float.self)
    var gradient: [Float] = []
    var product: [Float] = []
    let v = (0..<model.parameterCount).map { _ in Float(rng.gaussian()) }
    let fixed = model.parameters(as: Float.self)
    let point = try evaluator.linearize(parameters: fixed, batch: batch)
    // A run reads a new batch every step (12.8 MB over 32 batches: not in cache) and measures the gradient's
    // norm for its events: the bare loop a run's events and store are compared with does the same.
    let fresh = freshBatches(count: 32, like: batch)
    var next = 0
    var norm: Float = 0
    let t = try measure(
        rounds: 15,
        [
            (
                20,
                {
                    _ = try evaluator.lossAndGradient(parameters: parameters, batch: batch, gradient: &gradient)
                    parameters.withUnsafeMutableBufferPointer { p in
                        gradient.withUnsafeBufferPointer { g in
                            if let pb = p.baseAddress, let gb = g.baseAddress {
                                Float.axpy(count: p.count, alpha: -1e-3, x: gb, y: pb)
                            }
                        }
                    }
                }
            ),
            (20, { _ = try evaluator.lossAndGradient(parameters: fixed, batch: batch, gradient: &gradient) }),
            (12, { try evaluator.hessianVectorProduct(parameters: fixed, batch: batch, vector: v, into: &product) }),
            (12, { try evaluator.hessianVectorProduct(at: point, vector: v, into: &product) }),
            (12, { try evaluator.gaussNewtonVectorProduct(parameters: fixed, batch: batch, vector: v, into: &product) }),
            (12, { try evaluator.gaussNewtonVectorProduct(at: point, vector: v, into: &product) }),
            (
                20,
                {
                    _ = try evaluator.lossAndGradient(
                        parameters: parameters, batch: fresh[next % fresh.count], gradient: &gradient)
                    next += 1
                    parameters.withUnsafeMutableBufferPointer { p in
                        gradient.withUnsafeBufferPointer { g in
                            if let pb = p.baseAddress, let gb = g.baseAddress {
                                norm = Float.dot(count: g.count, x: gb, y: gb).squareRoot()
                                Float.axpy(count: p.count, alpha: -1e-3, x: gb, y: pb)
                            }
                        }
                    }
                }
            ),
        ])
    let (train, grad, hvpFirst, hvp, gnFirst, gn, trainFresh) = (t[0], t[1], t[2], t[3], t[4], t[5], t[6])
    _ = norm  // computed as a run computes it for its events
    print(
        """
        {"stepsPerSecond": \(1 / train), "freshBatchStepsPerSecond": \(1 / trainFresh), "gradientMs": \(grad * 1e3), \
        "hvpMs": \(hvp * 1e3), "hvpOverGradient": \(hvp / grad), \
        "hvpFirstMs": \(hvpFirst * 1e3), "hvpFirstOverGradient": \(hvpFirst / grad), \
        "gaussNewtonMs": \(gn * 1e3), "gaussNewtonFirstMs": \(gnFirst * 1e3), \
        "hvpTarget": "hvpMs: many products at one point from a kept linearization, as after jax.linearize", \
        "parameters": \(model.parameterCount)}
        """)
}

/// `saddle-bench objective`: the curvature benchmark's setting (the same MLP over 1,024 samples in
/// Double, through ``Objective`` as `curvature/eigen` uses it): a gradient, the first Hessian-vector
/// product at a point (which linearizes every chunk), and a further product at the same point.
func objective() throws {
    let (model, _) = try setup()
    var rng = SeededRandom(seed: 4)
    let samples = 1024
    let data = try Dataset(
        name: "bench", inputs: (0..<(samples * 784)).map { _ in rng.gaussian() }, inputWidth: 784,
        targets: .classes((0..<samples).map { _ in Int32(rng.next() % 10) }, classCount: 10),
        provenance: "saddle-bench")
    let p = model.parameters
    var q = p
    let v = (0..<model.parameterCount).map { _ in rng.gaussian() }
    // Two objectives, so that the moving point of the first never evicts the kept point of the second.
    let moving = try Objective(model: model, dataset: data, precision: .double)
    let o = try Objective(model: model, dataset: data, precision: .double)
    var sink = 0.0
    let t = try measure(
        rounds: 5,
        [
            (2, { sink += try o.gradient(p).loss }),
            // A new point each call: the cache is invalidated and every chunk linearized again.
            (
                2,
                {
                    q[0] += 1e-9; sink += try moving.hessianVectorProduct(q, v)[0]
                }
            ),
            (2, { sink += try o.hessianVectorProduct(p, v)[0] }),
        ])
    print(
        """
        {"samples": \(samples), "precision": "double", "gradientMs": \(t[0] * 1e3), \
        "hvpFirstMs": \(t[1] * 1e3), "hvpMs": \(t[2] * 1e3), "hvpOverGradient": \(t[2] / t[0]), \
        "hvpFirstOverGradient": \(t[1] / t[0]), "linearizationBytes": \(o.linearizationBytes), "sink": \(sink.isFinite)}
        """)
}

/// `count` batches shaped like `batch` with other inputs (seeded), to rotate through.
func freshBatches(count: Int, like batch: Batch<Float>) -> [Batch<Float>] {
    var rng = SeededRandom(seed: 4)
    return (0..<count).map { _ in
        Batch<Float>(
            inputs: (0..<batch.inputs.count).map { _ in Float(rng.gaussian()) }, rows: batch.rows,
            inputWidth: batch.inputWidth, targets: batch.targets)
    }
}

/// Runs one path alone for `seconds`, for a profiler.
func profile(_ what: String, seconds: Double) throws {
    let (model, batch) = try setup()
    let evaluator = model.makeEvaluator(Float.self)
    var parameters = model.parameters(as: Float.self)
    var rng = SeededRandom(seed: 3)
    let v = (0..<model.parameterCount).map { _ in Float(rng.gaussian()) }
    var gradient: [Float] = [], product: [Float] = []
    let point = try evaluator.linearize(parameters: parameters, batch: batch)
    let t0 = now()
    var count = 0
    while now() - t0 < seconds {
        switch what {
        case "step":
            _ = try evaluator.lossAndGradient(parameters: parameters, batch: batch, gradient: &gradient)
            parameters.withUnsafeMutableBufferPointer { p in
                gradient.withUnsafeBufferPointer { g in
                    if let pb = p.baseAddress, let gb = g.baseAddress { Float.axpy(count: p.count, alpha: -1e-3, x: gb, y: pb) }
                }
            }
        case "hvp": try evaluator.hessianVectorProduct(at: point, vector: v, into: &product)
        default: try evaluator.hessianVectorProduct(parameters: parameters, batch: batch, vector: v, into: &product)
        }
        count += 1
    }
    print("\(what): \(Double(count) / (now() - t0)) per second")
}

switch CommandLine.arguments.dropFirst().first {
case "step": try step()
case "objective": try objective()
case "profile":
    let args = Array(CommandLine.arguments.dropFirst(2))
    try profile(args.first ?? "step", seconds: args.count > 1 ? Double(args[1]) ?? 10 : 10)
default:
    FileHandle.standardError.write(
        Data("usage: saddle-bench step | saddle-bench objective | saddle-bench profile step|hvp|hvp-first [SECONDS]\n".utf8))
    exit(2)
}
