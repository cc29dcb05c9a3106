import SaddleMath

/// Per-block gradient norms and per-activation unit health on one batch, for diagnosis.
public struct ModelStatistics: Sendable, Equatable {
    /// The mean loss on the batch.
    public var loss: Double
    /// ‖∇L‖₂ over all parameters.
    public var gradientNorm: Double
    /// ‖∇L‖₂ of each block, in ``Model/blocks`` order.
    public var blockGradientNorms: [Double]
    /// One entry per activation module (a dense layer's activation or a standalone one), in order.
    public var activations: [UnitStatistics]
}

/// How the units after one activation module behave on a batch.
public struct UnitStatistics: Sendable, Equatable {
    /// State-dict module index of the activation, e.g. `"1"` after dense layer `"0"`.
    public var module: String
    /// Index of the owning top-level spec layer.
    public var layer: Int
    public var activation: String
    public var units: Int
    /// ReLU only: the fraction of units whose output is 0 on every sample of the batch (they get no
    /// gradient from this batch). `nil` for other activations.
    public var deadFraction: Double?
    /// tanh and sigmoid only: the fraction of (sample, unit) pairs in saturation, |tanh| > 0.99 or a
    /// sigmoid outside [0.01, 0.99] — the average over the batch of the fraction of saturated units.
    /// `nil` for other activations.
    public var saturatedFraction: Double?
}

extension Evaluator {
    /// Loss, gradient norms per block and unit statistics on one batch. Allocates its results (it is a
    /// diagnostic, not a training step). NaN outputs count as neither dead nor saturated.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func statistics(parameters: [T], batch: Batch<T>) throws(ModelError) -> ModelStatistics {
        var gradient: [T] = []
        let loss = try lossAndGradient(parameters: parameters, batch: batch, gradient: &gradient)
        var blockNorms: [Double] = []
        var total = 0.0
        for block in plan.blocks {
            var sum = 0.0
            for i in block.range { let g = Double(gradient[i]); sum += g * g }
            total += sum
            blockNorms.append(sum.squareRoot())
        }
        var units: [UnitStatistics] = []
        let rows = batch.rows
        for node in plan.nodes {
            guard case .activation(let n) = node else { continue }
            let y = value(n.output), w = n.width
            var dead: Double?, saturated: Double?
            switch n.activation {
            case .relu:
                var deadUnits = 0
                for j in 0..<w {
                    var alive = false
                    for r in 0..<rows where !(y[r * w + j] == 0) { alive = true; break }
                    if !alive { deadUnits += 1 }
                }
                dead = Double(deadUnits) / Double(w)
            case .tanh, .sigmoid:
                let isTanh = n.activation == .tanh
                var count = 0
                for i in 0..<(rows * w) {
                    let v = y[i]
                    if isTanh ? abs(v) > 0.99 : (v < 0.01 || v > 0.99) { count += 1 }
                }
                saturated = Double(count) / Double(rows * w)
            default:
                break
            }
            units.append(
                UnitStatistics(
                    module: n.module, layer: n.layer, activation: n.activation.name, units: w,
                    deadFraction: dead, saturatedFraction: saturated))
        }
        return ModelStatistics(
            loss: Double(loss), gradientNorm: total.squareRoot(), blockGradientNorms: blockNorms,
            activations: units)
    }
}
