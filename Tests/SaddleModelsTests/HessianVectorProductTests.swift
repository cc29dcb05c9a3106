import SaddleMath
import SaddleModels
import XCTest

/// Pearlmutter's R-operator against finite differences of the backpropagated gradient and against a
/// dense Hessian assembled column by column. Tolerances: central differences of the gradient with
/// h = 1e-5 err by ~1e-10 relative; 1e-6 leaves margin and still catches any wrong second-order term.
final class HessianVectorProductTests: XCTestCase {
    static let smoothSpecs: [ModelSpec] = [
        Fixture.spec(input: 3, [Fixture.dense(5, .tanh), Fixture.dense(4, .sigmoid), Fixture.dense(2)], loss: .mse),
        Fixture.spec(input: 3, [Fixture.dense(5, .gelu), Fixture.dense(3, .softplus)], loss: .softmaxCrossEntropy),
        Fixture.spec(
            input: 2,
            [
                Fixture.dense(4, .leakyRelu(negativeSlope: 0.2)), Fixture.dense(3, .relu),
                Fixture.dense(2),
            ], loss: .binaryCrossEntropy),
        Fixture.spec(
            input: 3,
            [
                Fixture.dense(4, .tanh),
                .residual([Fixture.dense(3, .tanh), .layerNorm(eps: 1e-5), Fixture.dense(4)]),
                .layerNorm(eps: 1e-5), .activation(.gelu), Fixture.dense(3),
            ], loss: .softmaxCrossEntropy),
        Fixture.spec(
            input: 3, [.layerNorm(eps: 1e-2), .residual([Fixture.dense(3, .sigmoid)]), Fixture.dense(2)],
            loss: .mse),
    ]

    func testHVPMatchesFiniteDifferencesOfGradient() {
        for (i, spec) in Self.smoothSpecs.enumerated() {
            let model = Model(spec: spec)
            let e = model.makeEvaluator(Double.self)
            let b = Fixture.batch(for: model, rows: 6)
            let v = Fixture.randomVector(model.parameterCount, seed: 3)
            let hv = Fixture.hvp(e, model.parameters, b, v)
            let fd = Fixture.finiteDifferenceHVP(e, model.parameters, b, v)
            XCTAssertGreaterThan(Fixture.norm(hv), 1e-3, "spec \(i)")
            XCTAssertLessThan(Fixture.relativeError(hv, fd), 1e-6, "spec \(i)")
        }
    }

    /// Dense Hessian from n HVPs with unit vectors, against the finite-difference Hessian (columns of
    /// central differences of the gradient), and its symmetry.
    func testDenseHessianFromHVPsMatchesFiniteDifferences() {
        let spec = Self.smoothSpecs[3]
        let model = Model(spec: spec)
        let e = model.makeEvaluator(Double.self)
        let b = Fixture.batch(for: model, rows: 4)
        let n = model.parameterCount
        var maxDiff = 0.0, maxAbs = 0.0, maxAsym = 0.0
        var columns: [[Double]] = []
        for j in 0..<n {
            var unit = [Double](repeating: 0, count: n)
            unit[j] = 1
            let col = Fixture.hvp(e, model.parameters, b, unit)
            let fd = Fixture.finiteDifferenceHVP(e, model.parameters, b, unit)
            for i in 0..<n { maxDiff = max(maxDiff, abs(col[i] - fd[i])); maxAbs = max(maxAbs, abs(fd[i])) }
            columns.append(col)
        }
        for i in 0..<n { for j in 0..<n { maxAsym = max(maxAsym, abs(columns[i][j] - columns[j][i])) } }
        XCTAssertGreaterThan(maxAbs, 1e-2)
        XCTAssertLessThan(maxDiff / maxAbs, 1e-6)
        // Exact in exact arithmetic; rounding of a few hundred flops per entry.
        XCTAssertLessThan(maxAsym / maxAbs, 1e-12)
    }

    /// v·Hw = w·Hv to 1e-10 relative to |v|·|Hw|: the R-operator computes a symmetric bilinear form.
    func testSymmetryOfBilinearForm() {
        for (i, spec) in Self.smoothSpecs.enumerated() {
            let model = Model(spec: spec)
            let e = model.makeEvaluator(Double.self)
            let b = Fixture.batch(for: model, rows: 5)
            let v = Fixture.randomVector(model.parameterCount, seed: 5)
            let w = Fixture.randomVector(model.parameterCount, seed: 6)
            let hv = Fixture.hvp(e, model.parameters, b, v), hw = Fixture.hvp(e, model.parameters, b, w)
            let scale = Fixture.norm(v) * Fixture.norm(hw)
            XCTAssertLessThan(abs(Fixture.dot(v, hw) - Fixture.dot(w, hv)) / scale, 1e-10, "spec \(i)")
        }
    }

    /// The Gauss–Newton product is PSD (v·Gv ≥ 0 up to rounding), symmetric, and equals the Hessian for a
    /// linear model under MSE (the model's second derivative vanishes).
    func testGaussNewtonProduct() throws {
        for (i, spec) in Self.smoothSpecs.enumerated() {
            let model = Model(spec: spec)
            let e = model.makeEvaluator(Double.self)
            let b = Fixture.batch(for: model, rows: 5)
            for seed in UInt64(20)..<UInt64(25) {
                let v = Fixture.randomVector(model.parameterCount, seed: seed)
                var gv: [Double] = []
                try e.gaussNewtonVectorProduct(parameters: model.parameters, batch: b, vector: v, into: &gv)
                let quad = Fixture.dot(v, gv)
                XCTAssertGreaterThanOrEqual(quad, -1e-12 * Fixture.norm(v) * Fixture.norm(gv), "spec \(i)")
                XCTAssertGreaterThan(quad, 0, "spec \(i): a generic direction has positive curvature under G")
            }
        }
        let linear = Model(spec: Fixture.spec(input: 4, [Fixture.dense(3)], loss: .mse))
        let e = linear.makeEvaluator(Double.self)
        let b = Fixture.batch(for: linear, rows: 7)
        let v = Fixture.randomVector(linear.parameterCount, seed: 9)
        var gv: [Double] = []
        try e.gaussNewtonVectorProduct(parameters: linear.parameters, batch: b, vector: v, into: &gv)
        XCTAssertLessThan(Fixture.relativeError(gv, Fixture.hvp(e, linear.parameters, b, v)), 1e-13)
    }

    /// Float and Double agree to ~1e-4 relative on loss, gradient and HVP (Float has ε ≈ 6e-8; a few
    /// layers of accumulation stay far below 1e-4).
    func testFloatAgreesWithDouble() throws {
        for (i, spec) in Self.smoothSpecs.enumerated() {
            let model = Model(spec: spec)
            let ed = model.makeEvaluator(Double.self), ef = model.makeEvaluator(Float.self)
            let bd = Fixture.batch(for: model, rows: 8)
            let bf = Batch<Float>(
                inputs: bd.inputs.map { Float($0) }, rows: bd.rows, inputWidth: bd.inputWidth,
                targets: {
                    switch bd.targets {
                    case .dense(let y, let w): .dense(y.map { Float($0) }, width: w)
                    case .classes(let c): .classes(c)
                    }
                }())
            let pd = model.parameters, pf = model.parameters(as: Float.self)
            let v = Fixture.randomVector(model.parameterCount, seed: 4)
            var gd: [Double] = [], gf: [Float] = [], hd: [Double] = [], hf: [Float] = []
            let ld = try ed.lossAndGradient(parameters: pd, batch: bd, gradient: &gd)
            let lf = try ef.lossAndGradient(parameters: pf, batch: bf, gradient: &gf)
            try ed.hessianVectorProduct(parameters: pd, batch: bd, vector: v, into: &hd)
            try ef.hessianVectorProduct(parameters: pf, batch: bf, vector: v.map { Float($0) }, into: &hf)
            XCTAssertEqual(Double(lf), ld, accuracy: 1e-4 * abs(ld), "spec \(i)")
            XCTAssertLessThan(Fixture.relativeError(gf.map { Double($0) }, gd), 1e-4, "spec \(i)")
            XCTAssertLessThan(Fixture.relativeError(hf.map { Double($0) }, hd), 1e-4, "spec \(i)")
        }
    }
}
