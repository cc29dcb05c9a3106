/// A dense tensor: a shape and contiguous row-major storage, in one precision.
///
/// A value type (copy-on-write through `Array`), so it crosses threads freely. Shape mismatches are
/// programming errors and stop with a precondition naming both shapes; data from users is checked
/// (and rejected with a clear error) before it becomes a tensor. Arithmetic follows IEEE 754: NaN
/// and infinities propagate, nothing is checked in the hot paths.
public struct Tensor<T: BLASScalar>: Sendable, Equatable {
    /// Extents, outermost first; `[]` is a scalar holding one value.
    public private(set) var shape: [Int]
    /// The values in row-major (C) order; `storage.count == shape.reduce(1, *)`.
    public var storage: [T]

    /// A tensor over `storage`, which must hold exactly `shape.reduce(1, *)` values.
    public init(shape: [Int], storage: [T]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "tensor extents must be non-negative, got \(shape)")
        precondition(
            storage.count == shape.reduce(1, *),
            "shape \(shape) needs \(shape.reduce(1, *)) values, got \(storage.count)")
        self.shape = shape
        self.storage = storage
    }

    /// A tensor of the given shape with every value equal to `value` (zero by default).
    public init(shape: [Int], repeating value: T = 0) {
        self.init(shape: shape, storage: [T](repeating: value, count: shape.reduce(1, *)))
    }

    /// A tensor of independent normal values N(mean, std²) drawn from `rng` (in row-major order, so
    /// the same seed gives the same tensor in either precision, up to rounding).
    public static func gaussian(shape: [Int], mean: T = 0, std: T = 1, rng: inout SeededRandom) -> Tensor {
        let count = shape.reduce(1, *)
        var values = [T]()
        values.reserveCapacity(count)
        for _ in 0..<count { values.append(mean + std * T(rng.gaussian())) }
        return Tensor(shape: shape, storage: values)
    }

    /// The number of values.
    public var count: Int { storage.count }
    /// The number of dimensions.
    public var rank: Int { shape.count }

    /// The element at row `i`, column `j` of a matrix (rank 2).
    public subscript(i: Int, j: Int) -> T {
        get {
            precondition(rank == 2, "2-index subscript needs a matrix, shape is \(shape)")
            return storage[i * shape[1] + j]
        }
        set {
            precondition(rank == 2, "2-index subscript needs a matrix, shape is \(shape)")
            storage[i * shape[1] + j] = newValue
        }
    }

    /// The same values under another shape with the same number of values.
    public func reshaped(_ newShape: [Int]) -> Tensor { Tensor(shape: newShape, storage: storage) }

    /// The transpose of a matrix (rank 2).
    public func transposed() -> Tensor {
        precondition(rank == 2, "transposed() needs a matrix, shape is \(shape)")
        let (rows, cols) = (shape[0], shape[1])
        var out = [T](repeating: 0, count: count)
        // Blocked so that both reads and writes stay in cache for large matrices.
        let block = 32
        var i0 = 0
        while i0 < rows {
            var j0 = 0
            while j0 < cols {
                for i in i0..<min(i0 + block, rows) {
                    for j in j0..<min(j0 + block, cols) { out[j * rows + i] = storage[i * cols + j] }
                }
                j0 += block
            }
            i0 += block
        }
        return Tensor(shape: [cols, rows], storage: out)
    }

    /// The tensor with `transform` applied to each value.
    public func map(_ transform: (T) -> T) -> Tensor { Tensor(shape: shape, storage: storage.map(transform)) }

    /// Elementwise combination of two tensors of the same shape.
    public func zip(_ other: Tensor, _ combine: (T, T) -> T) -> Tensor {
        precondition(shape == other.shape, "elementwise operation needs equal shapes, got \(shape) and \(other.shape)")
        var out = storage
        other.storage.withUnsafeBufferPointer { o in
            for i in out.indices { out[i] = combine(out[i], o[i]) }
        }
        return Tensor(shape: shape, storage: out)
    }

    /// The same tensor in another precision (`Float(x)` rounds to nearest; values beyond Float's
    /// range become ±infinity, NaN stays NaN).
    public func converted<U: BLASScalar>(to type: U.Type = U.self) -> Tensor<U> {
        Tensor<U>(shape: shape, storage: storage.map { U($0) })
    }

    /// The matrix product op(self)·op(other) through `BLASScalar.gemm` (OpenBLAS).
    ///
    /// Both operands must be matrices; `transposeSelf`/`transposeOther` use the transpose without
    /// forming it. Inner extents must agree.
    public func matmul(_ other: Tensor, transposeSelf: Bool = false, transposeOther: Bool = false) -> Tensor {
        precondition(rank == 2 && other.rank == 2, "matmul needs two matrices, got \(shape) and \(other.shape)")
        let m = transposeSelf ? shape[1] : shape[0]
        let k = transposeSelf ? shape[0] : shape[1]
        let k2 = transposeOther ? other.shape[1] : other.shape[0]
        let n = transposeOther ? other.shape[0] : other.shape[1]
        precondition(
            k == k2,
            "matmul inner extents differ: \(shape)\(transposeSelf ? "ᵀ" : "") · \(other.shape)\(transposeOther ? "ᵀ" : "")")
        var out = [T](repeating: 0, count: m * n)
        if m > 0 && n > 0 && k > 0 {
            storage.withUnsafeBufferPointer { a in
                other.storage.withUnsafeBufferPointer { b in
                    out.withUnsafeMutableBufferPointer { c in
                        // Non-empty buffers always have a base address.
                        T.gemm(
                            transA: transposeSelf, transB: transposeOther, m: m, n: n, k: k, alpha: 1,
                            a: a.baseAddress!, lda: shape[1], b: b.baseAddress!, ldb: other.shape[1],
                            beta: 0, c: c.baseAddress!, ldc: n)
                    }
                }
            }
        }
        return Tensor(shape: [m, n], storage: out)
    }
}
