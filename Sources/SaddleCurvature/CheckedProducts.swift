/// Takes operator products for an algorithm: checks cancellation before each one, counts them,
/// and turns a wrong length or a non-finite entry into a ``CurvatureError``.
struct CheckedProducts<Op: SymmetricOperator> {
    let op: Op
    let algorithm: String
    let control: CurvatureControl
    private(set) var count = 0

    init(_ op: Op, algorithm: String, control: CurvatureControl) {
        self.op = op
        self.algorithm = algorithm
        self.control = control
    }

    mutating func apply(_ v: [Double]) throws -> [Double] {
        try control.checkCancelled()
        count += 1
        let y = try op.apply(v)
        guard y.count == op.dimension else { throw CurvatureError.dimensionMismatch(expected: op.dimension, got: y.count) }
        if let i = Vec.firstNonFinite(y) {
            throw CurvatureError.nonFiniteProduct(algorithm: algorithm, product: count, index: i, value: y[i])
        }
        return y
    }
}
