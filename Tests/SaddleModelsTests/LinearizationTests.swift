import SaddleMath
import SaddleModels
import XCTest

/// Products at a kept point (``Linearization``, and the cache in ``Objective``) against the products
/// that run the primal passes afresh. Both run the same operations in the same order, so in Double
/// they agree to rounding; 1e-12 relative leaves room for nothing but rounding and catches any stale
/// or missing term (a stale point differs at order one).
final class LinearizationTests: XCTestCase {
    /// A model with every kind of node (dense, activations with and without a second derivative,
    /// layernorm, a residual block), so every R-pass reads kept values.
    static let spec = Fixture.spec(
        input: 3,
        [
            Fixture.dense(5, .tanh),
            .residual([Fixture.dense(5, .relu), .layerNorm(eps: 1e-5), Fixture.dense(5, .gelu)]),
            .layerNorm(eps: 1e-5), Fixture.dense(4, .sigmoid), Fixture.dense(3),
        ], loss: .softmaxCrossEntropy)

    func testProductsAtLinearizationEqualFreshProducts() throws {
        let model = Model(spec: Self.spec)
        let e = model.makeEvaluator(Double.self)
        let b = Fixture.batch(for: model, rows: 7)
        let point = try e.linearize(parameters: model.parameters, batch: b)
        XCTAssertEqual(point.loss, Fixture.loss(e, model.parameters, b), accuracy: 1e-15)
        XCTAssertEqual(point.bytes, e.linearizationBytes(rows: 7))
        for seed in [3, 4, 5] as [UInt64] {
            let v = Fixture.randomVector(model.parameterCount, seed: seed)
            var kept: [Double] = [], keptGN: [Double] = []
            try e.hessianVectorProduct(at: point, vector: v, into: &kept)
            try e.gaussNewtonVectorProduct(at: point, vector: v, into: &keptGN)
            // A fresh product in between must not disturb the kept point (it uses the workspace).
            let fresh = Fixture.hvp(e, model.parameters, b, v)
            var freshGN: [Double] = []
            try e.gaussNewtonVectorProduct(parameters: model.parameters, batch: b, vector: v, into: &freshGN)
            var again: [Double] = []
            try e.hessianVectorProduct(at: point, vector: v, into: &again)
            XCTAssertGreaterThan(Fixture.norm(fresh), 1e-3)
            XCTAssertLessThan(Fixture.relativeError(kept, fresh), 1e-12, "seed \(seed)")
            XCTAssertLessThan(Fixture.relativeError(keptGN, freshGN), 1e-12, "seed \(seed)")
            XCTAssertEqual(again, kept, "the same product at the same point twice")
            // And against finite differences of the gradient, so agreement is not agreement in error.
            XCTAssertLessThan(Fixture.relativeError(kept, Fixture.finiteDifferenceHVP(e, model.parameters, b, v)), 1e-6)
        }
    }

    func testLinearizationFromAnotherEvaluatorIsRefused() throws {
        let model = Model(spec: Self.spec)
        let b = Fixture.batch(for: model, rows: 3)
        let point = try model.makeEvaluator(Double.self).linearize(parameters: model.parameters, batch: b)
        var out: [Double] = []
        XCTAssertThrowsError(
            try model.makeEvaluator(Double.self).hessianVectorProduct(
                at: point, vector: Fixture.randomVector(model.parameterCount, seed: 1), into: &out))
    }

    /// A data set of `count` samples for the test model, 3 classes.
    static func dataset(_ model: Model, count: Int) throws -> Dataset {
        var rng = SeededRandom(seed: 21)
        return try Dataset(
            name: "lin", inputs: (0..<(count * model.inputWidth)).map { _ in rng.gaussian() },
            inputWidth: model.inputWidth,
            targets: .classes((0..<count).map { _ in Int32(rng.next() % 3) }, classCount: 3),
            provenance: "test")
    }

    /// The objective's cached products equal those of a fresh objective (no cache) at every point,
    /// including after the parameters change in place: a stale cache would answer with the old
    /// point's Hessian, which differs at order one.
    func testObjectiveCacheNeverServesStaleProducts() throws {
        let model = Model(spec: Self.spec)
        let data = try Self.dataset(model, count: 10)
        let cached = try Objective(model: model, dataset: data, precision: .double, chunkSize: 4)
        XCTAssertEqual(cached.chunkCount, 3)
        let v = Fixture.randomVector(model.parameterCount, seed: 8)
        var p = model.parameters
        let first = try cached.hessianVectorProduct(p, v)
        XCTAssertEqual(cached.linearizedChunkCount, 3)
        XCTAssertGreaterThan(cached.linearizationBytes, 0)
        XCTAssertEqual(try cached.hessianVectorProduct(p, v), first, "the cached point answers the same")
        for step in 0..<3 {
            // Change one parameter in place (same array, so only the comparison can notice).
            p[step * 7] += 0.3
            let fresh = try Objective(model: model, dataset: data, precision: .double, linearizationBudget: 0)
            let expected = try fresh.hessianVectorProduct(p, v)
            let got = try cached.hessianVectorProduct(p, v)
            XCTAssertGreaterThan(Fixture.relativeError(first, expected), 1e-4, "the point really moved")
            XCTAssertLessThan(Fixture.relativeError(got, expected), 1e-12, "step \(step)")
            XCTAssertLessThan(
                Fixture.relativeError(
                    try cached.gaussNewtonVectorProduct(p, v),
                    try fresh.gaussNewtonVectorProduct(p, v)), 1e-12)
        }
    }

    /// Over the memory bound, chunks fall back to fresh products with the same numbers: a budget of
    /// zero keeps nothing; a budget for one chunk keeps exactly one.
    func testMemoryBoundFallsBack() throws {
        let model = Model(spec: Self.spec)
        let data = try Self.dataset(model, count: 8)
        let v = Fixture.randomVector(model.parameterCount, seed: 9)
        let perChunk = model.makeEvaluator(Double.self).linearizationBytes(rows: 4)
        let none = try Objective(model: model, dataset: data, precision: .double, chunkSize: 4, linearizationBudget: 0)
        let one = try Objective(
            model: model, dataset: data, precision: .double, chunkSize: 4,
            linearizationBudget: perChunk + perChunk / 2)
        let all = try Objective(model: model, dataset: data, precision: .double, chunkSize: 4)
        let reference = try none.hessianVectorProduct(model.parameters, v)
        XCTAssertEqual(none.linearizedChunkCount, 0)
        XCTAssertEqual(none.linearizationBytes, 0)
        XCTAssertLessThan(Fixture.relativeError(try one.hessianVectorProduct(model.parameters, v), reference), 1e-12)
        XCTAssertEqual(one.linearizedChunkCount, 1)
        XCTAssertEqual(one.linearizationBytes, perChunk)
        XCTAssertLessThan(Fixture.relativeError(try all.hessianVectorProduct(model.parameters, v), reference), 1e-12)
        XCTAssertEqual(all.linearizedChunkCount, 2)
        XCTAssertLessThanOrEqual(all.linearizationBytes, all.linearizationBudget)
        // And the full-batch mean is right: against finite differences of the objective's gradient.
        let h = 1e-5
        let up = try all.gradient(zip(model.parameters, v).map { $0 + h * $1 }).gradient
        let down = try all.gradient(zip(model.parameters, v).map { $0 - h * $1 }).gradient
        XCTAssertLessThan(Fixture.relativeError(reference, zip(up, down).map { ($0 - $1) / (2 * h) }), 1e-6)
    }

    /// Float objectives cache too; their products match the Double ones to Float rounding (1e-4
    /// relative: a few hundred Float operations per entry on well-scaled values).
    func testFloatObjectiveCache() throws {
        let model = Model(spec: Self.spec)
        let data = try Self.dataset(model, count: 6)
        let v = Fixture.randomVector(model.parameterCount, seed: 10)
        let f = try Objective(model: model, dataset: data, precision: .float)
        let d = try Objective(model: model, dataset: data, precision: .double)
        let first = try f.hessianVectorProduct(model.parameters, v)
        XCTAssertEqual(f.linearizedChunkCount, 1)
        XCTAssertEqual(try f.hessianVectorProduct(model.parameters, v), first)
        XCTAssertLessThan(Fixture.relativeError(first, try d.hessianVectorProduct(model.parameters, v)), 1e-4)
    }

    /// A NaN parameter is never a cache hit: the product is recomputed (and is NaN) every time.
    func testNaNParametersAreNotCached() throws {
        let model = Model(spec: Self.spec)
        let data = try Self.dataset(model, count: 4)
        let o = try Objective(model: model, dataset: data, precision: .double)
        var p = model.parameters
        p[0] = .nan
        let v = Fixture.randomVector(model.parameterCount, seed: 2)
        XCTAssertTrue(try o.hessianVectorProduct(p, v).contains { $0.isNaN })
        p[0] = model.parameters[0]
        XCTAssertLessThan(
            Fixture.relativeError(
                try o.hessianVectorProduct(p, v),
                try o.hessianVectorProduct(model.parameters, v)), 1e-12)
        XCTAssertFalse(try o.hessianVectorProduct(p, v).contains { $0.isNaN })
    }
}
