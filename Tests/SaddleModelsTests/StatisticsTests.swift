import SaddleModels
import XCTest

/// Per-block gradient norms and unit statistics against hand-built cases.
final class StatisticsTests: XCTestCase {
    func testBlockNormsMatchTheGradient() throws {
        let model = Model(
            spec: Fixture.spec(
                input: 3,
                [
                    Fixture.dense(4, .relu), Fixture.dense(4, .tanh),
                    Fixture.dense(2, .sigmoid), Fixture.dense(2),
                ], loss: .mse))
        let e = model.makeEvaluator(Double.self)
        let b = Fixture.batch(for: model, rows: 6)
        let stats = try e.statistics(parameters: model.parameters, batch: b)
        let g = Fixture.gradient(e, model.parameters, b)
        XCTAssertEqual(stats.loss, Fixture.loss(e, model.parameters, b), accuracy: 0)
        XCTAssertEqual(stats.gradientNorm, Fixture.norm(g), accuracy: 1e-14 * Fixture.norm(g))
        for (block, norm) in zip(model.blocks, stats.blockGradientNorms) {
            XCTAssertEqual(norm, Fixture.norm(Array(g[block.range])), accuracy: 1e-15, block.name)
        }
        XCTAssertEqual(stats.activations.map(\.module), ["1", "3", "5"])
        XCTAssertEqual(stats.activations.map(\.activation), ["relu", "tanh", "sigmoid"])
        XCTAssertNotNil(stats.activations[0].deadFraction)
        XCTAssertNil(stats.activations[0].saturatedFraction)
        XCTAssertNil(stats.activations[1].deadFraction)
    }

    /// Weights chosen by hand: with inputs x ≥ 0, a unit with weights ≤ 0 and bias −1 is dead on every
    /// sample; tanh of ±10 is saturated (|tanh| = 1 − 4e-9), tanh of 0.1 is not.
    func testDeadAndSaturatedFractionsByHand() throws {
        let spec = Fixture.spec(input: 1, [Fixture.dense(4, .relu), Fixture.dense(2, .tanh)], loss: .mse)
        // Layer 0: W = [1, −1, 2, −3], b = [0, −1, 0, −1]: units 1 and 3 dead for x ≥ 0.
        // Layer 1: rows chosen so unit 0 gets 10·x-ish values (saturated) and unit 1 stays at 0.1.
        let p: [Double] = [
            1, -1, 2, -3, 0, -1, 0, -1,
            10, 0, 0, 0, 0, 0, 0, 0,
            0, 0.1,
        ]
        let model = try Model(spec: spec, parameters: p)
        let b = Batch<Double>(inputs: [1, 2, 3], rows: 3, inputWidth: 1, targets: .dense([0, 0, 0, 0, 0, 0], width: 2))
        let stats = try model.makeEvaluator(Double.self).statistics(parameters: p, batch: b)
        XCTAssertEqual(stats.activations[0].deadFraction, 0.5)
        // tanh(10·x) for x = 1, 2, 3 saturated (3 of 6 pairs); tanh(0.1) not.
        XCTAssertEqual(stats.activations[1].saturatedFraction, 0.5)
        // The dead units' incoming weights get exactly zero gradient.
        XCTAssertEqual(stats.blockGradientNorms[0] > 0, true)
        let g = Fixture.gradient(model.makeEvaluator(Double.self), p, b)
        XCTAssertEqual(g[1], 0)
        XCTAssertEqual(g[3], 0)
    }
}
