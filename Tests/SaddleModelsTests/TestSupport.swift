import SaddleMath
import SaddleModels
import XCTest

/// Shared builders and finite-difference references for the model tests.
enum Fixture {
    static func dense(_ units: Int, _ activation: Activation = .identity, bias: Bool = true) -> LayerSpec {
        .dense(DenseSpec(units: units, bias: bias, activation: activation))
    }

    static func spec(input: Int, _ layers: [LayerSpec], loss: Loss, seed: UInt64 = 7) -> ModelSpec {
        do { return try ModelSpec(input: input, layers: layers, loss: loss, seed: seed) } catch {
            XCTFail("invalid spec: \(error)")
            fatalError("invalid test spec")
        }
    }

    /// A random batch matching the model's widths and loss (seeded, Gaussian inputs).
    static func batch(for model: Model, rows: Int, seed: UInt64 = 11) -> Batch<Double> {
        var rng = SeededRandom(seed: seed)
        let inputs = (0..<(rows * model.inputWidth)).map { _ in rng.gaussian() }
        let k = model.outputWidth
        let targets: Targets<Double>
        switch model.spec.loss {
        case .mse: targets = .dense((0..<(rows * k)).map { _ in rng.gaussian() }, width: k)
        case .binaryCrossEntropy: targets = .dense((0..<(rows * k)).map { _ in rng.uniform() }, width: k)
        case .softmaxCrossEntropy: targets = .classes((0..<rows).map { _ in Int32(rng.next() % UInt64(k)) })
        }
        return Batch(inputs: inputs, rows: rows, inputWidth: model.inputWidth, targets: targets)
    }

    static func randomVector(_ n: Int, seed: UInt64) -> [Double] {
        var rng = SeededRandom(seed: seed)
        return (0..<n).map { _ in rng.gaussian() }
    }

    static func loss(_ e: Evaluator<Double>, _ p: [Double], _ b: Batch<Double>) -> Double {
        do { return try e.loss(parameters: p, batch: b) } catch {
            XCTFail("\(error)")
            return .nan
        }
    }

    static func gradient(_ e: Evaluator<Double>, _ p: [Double], _ b: Batch<Double>) -> [Double] {
        var g: [Double] = []
        do { _ = try e.lossAndGradient(parameters: p, batch: b, gradient: &g) } catch { XCTFail("\(error)") }
        return g
    }

    static func hvp(_ e: Evaluator<Double>, _ p: [Double], _ b: Batch<Double>, _ v: [Double]) -> [Double] {
        var hv: [Double] = []
        do { try e.hessianVectorProduct(parameters: p, batch: b, vector: v, into: &hv) } catch { XCTFail("\(error)") }
        return hv
    }

    /// Central differences of the loss, step h per coordinate: error O(h²·f''') + O(ε·f/h).
    static func finiteDifferenceGradient(_ e: Evaluator<Double>, _ p: [Double], _ b: Batch<Double>, h: Double = 1e-5)
        -> [Double]
    {
        var q = p
        return (0..<p.count).map { i in
            q[i] = p[i] + h
            let up = loss(e, q, b)
            q[i] = p[i] - h
            let down = loss(e, q, b)
            q[i] = p[i]
            return (up - down) / (2 * h)
        }
    }

    /// Central differences of the gradient along v.
    static func finiteDifferenceHVP(
        _ e: Evaluator<Double>, _ p: [Double], _ b: Batch<Double>, _ v: [Double],
        h: Double = 1e-5
    ) -> [Double] {
        let up = gradient(e, zip(p, v).map { $0 + h * $1 }, b)
        let down = gradient(e, zip(p, v).map { $0 - h * $1 }, b)
        return zip(up, down).map { ($0 - $1) / (2 * h) }
    }

    static func norm(_ x: [Double]) -> Double { x.reduce(0) { $0 + $1 * $1 }.squareRoot() }
    static func dot(_ x: [Double], _ y: [Double]) -> Double { zip(x, y).reduce(0) { $0 + $1.0 * $1.1 } }

    /// ‖a − b‖ / max(‖a‖, ‖b‖, floor): relative error with a floor for vectors that are ~0.
    static func relativeError(_ a: [Double], _ b: [Double], floor: Double = 1e-12) -> Double {
        precondition(a.count == b.count)
        let diff = norm(zip(a, b).map { $0 - $1 })
        return diff / max(norm(a), norm(b), floor)
    }
}
