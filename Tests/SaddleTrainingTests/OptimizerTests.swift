import SaddleJSON
import XCTest

@testable import SaddleTraining

/// Each rule against a float64 numpy transcription of PyTorch's update (see TestSupport.swift),
/// three steps on a 3-parameter quadratic. Tolerance 1e-12: the same operations in the same
/// order in float64, so only last-bit rounding differences remain.
final class OptimizerTests: XCTestCase {
    private func run(_ config: OptimizerConfig, steps: Int = 3) -> [Double] {
        var opt = Optimizer<Double>(config: config, parameterCount: 3)
        var p = Quadratic.p0
        for _ in 0..<steps {
            var g = Quadratic.gradient(p)
            _ = opt.step(params: &p, grad: &g)
        }
        return p
    }

    private func config(_ kind: OptimizerKind, lr: Double, _ edit: (inout OptimizerConfig) -> Void = { _ in }) -> OptimizerConfig
    {
        var c = OptimizerConfig(kind: kind, lr: lr)
        edit(&c)
        return c
    }

    func testSGDWithCoupledWeightDecay() {
        assertClose(
            run(config(.sgd, lr: 0.1) { $0.weightDecay = 0.01 }),
            [0.990545299, -1.858960648, 0.2801460995], tolerance: 1e-12, "sgd")
    }

    func testHeavyBallMomentumWithDampening() {
        let c = config(.momentum, lr: 0.1) {
            $0.momentum = 0.9; $0.dampening = 0.1; $0.weightDecay = 0.01
        }
        assertClose(run(c), [0.98513349219, -1.7448417248800001, 0.08592424059499998], tolerance: 1e-12, "momentum")
    }

    func testNesterov() {
        assertClose(run(config(.nesterov, lr: 0.1)), [0.97037425, -1.662803125, 0.05060899999999999], tolerance: 1e-12)
    }

    func testAdamCoupledDecay() {
        assertClose(
            run(config(.adam, lr: 0.1) { $0.weightDecay = 0.01 }),
            [0.9995667644847467, -1.7034118136991332, 0.21061747299951705], tolerance: 1e-12)
    }

    func testAdamWDecoupledDecay() {
        assertClose(
            run(config(.adamw, lr: 0.1) { $0.weightDecay = 0.1 }),
            [0.9235627373965998, -1.6485726743491549, 0.19982483001227658], tolerance: 1e-12)
    }

    func testRMSprop() {
        assertClose(
            run(config(.rmsprop, lr: 0.01)), [0.9922237620694374, -1.7852737581392941, 0.302517924823733],
            tolerance: 1e-12)
    }

    func testRMSpropCenteredWithMomentumAndDecay() {
        let c = config(.rmsprop, lr: 0.01) {
            $0.momentum = 0.5; $0.centered = true; $0.weightDecay = 0.01
        }
        assertClose(run(c), [0.9619775418516271, -1.6794465080487255, 0.20707551101274485], tolerance: 1e-12)
    }

    func testAdagradWithDecayAndInitialAccumulator() {
        let c = config(.adagrad, lr: 0.1) {
            $0.lrDecay = 0.1; $0.weightDecay = 0.01; $0.initialAccumulatorValue = 0.1
        }
        assertClose(run(c), [0.9717118818214409, -1.8232759767472997, 0.3197173582025788], tolerance: 1e-12)
    }

    func testFloatPrecisionTracksDouble() {
        // Float32 arithmetic: agreement to 1e-5 (a few float ulps over three steps of O(1) values).
        var opt = Optimizer<Float>(config: config(.adam, lr: 0.1) { $0.weightDecay = 0.01 }, parameterCount: 3)
        var p = Quadratic.p0.map(Float.init)
        for _ in 0..<3 {
            var g = Quadratic.gradient(p)
            _ = opt.step(params: &p, grad: &g)
        }
        assertClose(p.map(Double.init), [0.9995667644847467, -1.7034118136991332, 0.21061747299951705], tolerance: 1e-5)
    }

    func testClippingByGlobalNorm() {
        // ‖g(p0)‖ = √1.25 = 1.118033988749895; clipped to 1 (PyTorch's coefficient 1/(‖g‖+1e-6)).
        var opt = Optimizer<Double>(config: config(.sgd, lr: 0.1) { $0.clipNorm = 1.0 }, parameterCount: 3)
        var p = Quadratic.p0
        var g = Quadratic.gradient(p)
        let info = opt.step(params: &p, grad: &g)
        XCTAssertEqual(info.gradNorm, 1.118033988749895, accuracy: 1e-14)
        XCTAssertTrue(info.clipped)
        XCTAssertEqual(g.map { $0 * $0 }.reduce(0, +).squareRoot(), 1.0, accuracy: 1e-5)
        assertClose(p, [1.0, -1.9552786804499684, 0.41055736089993683], tolerance: 1e-12)
        // A norm already below the limit is untouched.
        var opt2 = Optimizer<Double>(config: config(.sgd, lr: 0.1) { $0.clipNorm = 5 }, parameterCount: 3)
        var g2 = Quadratic.gradient(Quadratic.p0)
        var p2 = Quadratic.p0
        XCTAssertFalse(opt2.step(params: &p2, grad: &g2).clipped)
        assertClose(g2, Quadratic.gradient(Quadratic.p0), tolerance: 0)
    }

    /// The norm is √(g·g) unless g·g overflows: in Float, (3e19, 4e19) squares past Float's range, yet its norm
    /// 5e19 is finite and must be reported (and clip) as such, not as Infinity.
    func testGradientNormSurvivesSquaresPastTheFloatRange() {
        var opt = Optimizer<Float>(config: config(.sgd, lr: 0.1) { $0.clipNorm = 1.0 }, parameterCount: 2)
        var p: [Float] = [0, 0]
        var g: [Float] = [3e19, 4e19]
        let info = opt.step(params: &p, grad: &g)
        XCTAssertEqual(info.gradNorm, 5e19, accuracy: 5e19 * 1e-6)
        XCTAssertTrue(info.clipped)
        XCTAssertEqual(Double(p[0]), -0.06, accuracy: 1e-6)
        XCTAssertEqual(Double(p[1]), -0.08, accuracy: 1e-6)
    }

    func testNoiseIsDeterministicForSeedAndHasTheRequestedScale() {
        var c = config(.sgd, lr: 1)
        c.noise = NoiseConfig(std: 0.5)
        func noise(seed: UInt64, n: Int) -> [Double] {
            var opt = Optimizer<Double>(config: c, parameterCount: n, seed: seed)
            var p = [Double](repeating: 0, count: n)
            var g = [Double](repeating: 0, count: n)
            _ = opt.step(params: &p, grad: &g)
            return p.map { -$0 }  // p = −lr·ξ
        }
        XCTAssertEqual(noise(seed: 7, n: 8), noise(seed: 7, n: 8))
        XCTAssertNotEqual(noise(seed: 7, n: 8), noise(seed: 8, n: 8))
        // Sample std of 20 000 draws: standard error of σ̂ is σ/√(2n) ≈ 0.0025; allow 4 of them (0.01).
        let xs = noise(seed: 1, n: 20_000)
        let mean = xs.reduce(0, +) / Double(xs.count)
        let sd = (xs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(xs.count - 1)).squareRoot()
        XCTAssertEqual(sd, 0.5, accuracy: 0.01)
        XCTAssertEqual(mean, 0, accuracy: 0.015)  // 4 standard errors of the mean (0.5/√20000 ≈ 0.0035)
    }

    func testScheduleDrivesTheOptimizerLearningRate() {
        var c = config(.sgd, lr: 1)
        c.schedule = ScheduleConfig(.step(stepSize: 1, gamma: 0.5))
        var opt = Optimizer<Double>(config: c, parameterCount: 1)
        var lrs: [Double] = []
        for _ in 0..<3 {
            var p = [0.0], g = [1.0]
            lrs.append(opt.step(params: &p, grad: &g).lr)
        }
        XCTAssertEqual(lrs, [1, 0.5, 0.25])
    }

    func testDecodesTheDocumentedExample() throws {
        let json = try JSON.parse(
            #"{"kind":"adam","lr":0.001,"betas":[0.9,0.999],"eps":1e-8,"weightDecay":0,"clipNorm":1.0,"schedule":{"kind":"cosine","steps":1000,"warmup":100},"noise":{"std":0.01}}"#
        )
        let c = try OptimizerConfig(from: JSONReader(json, path: "params.optimizer"))
        XCTAssertEqual(c.kind, .adam)
        XCTAssertEqual(c.lr, 0.001)
        XCTAssertEqual(c.beta2, 0.999)
        XCTAssertEqual(c.clipNorm, 1.0)
        XCTAssertEqual(c.schedule, ScheduleConfig(.cosine(steps: 1000, minLr: 0), warmup: 100))
        XCTAssertEqual(c.noise, NoiseConfig(std: 0.01))
        // Round trip through its own JSON.
        XCTAssertEqual(try OptimizerConfig(from: JSONReader(c.json)), c)
        // PyTorch's defaults per kind.
        let adamw = try OptimizerConfig(from: JSONReader(["kind": "adamw"]))
        XCTAssertEqual(adamw.weightDecay, 0.01)
        XCTAssertEqual(adamw.lr, 1e-3)
        let adagrad = try OptimizerConfig(from: JSONReader(["kind": "adagrad"]))
        XCTAssertEqual(adagrad.eps, 1e-10)
        XCTAssertEqual(adagrad.lr, 1e-2)
        XCTAssertEqual(try OptimizerConfig(from: JSONReader(["kind": "sgd", "momentum": 0.9, "nesterov": true])).kind, .nesterov)
        XCTAssertEqual(try OptimizerConfig(from: JSONReader(["kind": "momentum", "nesterov": true])).kind, .nesterov)
        XCTAssertEqual(try OptimizerConfig(from: JSONReader(["kind": "momentum"])).momentum, 0.9)
        XCTAssertThrowsError(try OptimizerConfig(from: JSONReader(["kind": "sgd", "nesterov": true], path: "o"))) {
            XCTAssertEqual("\($0)", "`o.momentum` must be positive with zero dampening for Nesterov momentum (PyTorch's rule)")
        }
    }

    func testConfigErrorsNameTheField() {
        func message(_ json: JSON) -> String {
            do {
                _ = try OptimizerConfig(from: JSONReader(json, path: "params.optimizer"))
                return "no error"
            } catch { return error.description }
        }
        XCTAssertEqual(
            message(["kind": "adam", "betas": [0.9, "x"]]),
            "`params.optimizer.betas[1]` must be a number, got the string \"x\"")
        XCTAssertEqual(
            message(["kind": "adam", "momentum": 0.9]),
            "`params.optimizer.momentum` is not a known field; expected one of: betas, clipNorm, eps, kind, lr, noise, schedule, weightDecay"
        )
        XCTAssertEqual(
            message(["kind": "lbfgs"]),
            "`params.optimizer.kind` must be one of \"sgd\", \"momentum\", \"nesterov\", \"adam\", \"adamw\", \"rmsprop\", \"adagrad\", got \"lbfgs\""
        )
        XCTAssertEqual(
            message(["kind": "sgd", "schedule": ["kind": "cosine"]]),
            "`params.optimizer.schedule.steps` is required: give an integer")
        XCTAssertEqual(message(["kind": "sgd", "lr": -1]), "`params.optimizer.lr` must be at least 0.0, got -1.0")
    }
}
