import CLAPACKE

/// Dense and tridiagonal symmetric eigensolvers through LAPACK (`dsyevd`, `dstevr`).
///
/// Saddle writes no eigensolver of its own: Lanczos reduces the Hessian to a small tridiagonal
/// matrix and LAPACK solves that; tests compare against LAPACK's dense solution.
public enum SymmetricEigen {
    /// The eigenvalues (ascending) and orthonormal eigenvectors of a symmetric matrix.
    public struct Decomposition: Sendable {
        /// Eigenvalues in ascending order.
        public var values: [Double]
        /// Eigenvectors stored column by column: vector `j` is `vectors[j*n ..< (j+1)*n]`.
        public var vectors: [Double]
        public var dimension: Int

        /// Eigenvector `j` (for eigenvalue `values[j]`).
        public func vector(_ j: Int) -> ArraySlice<Double> { vectors[(j * dimension)..<((j + 1) * dimension)] }
    }

    /// LAPACK reported a failure (an illegal argument or a failure to converge).
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let routine: String
        public let info: Int
        public var description: String { "LAPACK \(routine) failed with info = \(info)" }
    }

    /// Eigen-decomposition of a dense symmetric `n × n` matrix (row-major; only the upper
    /// triangle is read) by `dsyevd`.
    public static func dense(_ matrix: [Double], n: Int, vectors wantVectors: Bool = true) throws(Failure)
        -> Decomposition
    {
        precondition(matrix.count == n * n, "matrix must hold n × n values")
        if n == 0 { return Decomposition(values: [], vectors: [], dimension: 0) }
        // LAPACK overwrites A with the eigenvectors; column-major storage of the symmetric input
        // equals its row-major storage, and the result comes back column-major: vector j is column j.
        var a = matrix
        var w = [Double](repeating: 0, count: n)
        let info = a.withUnsafeMutableBufferPointer { ap in
            w.withUnsafeMutableBufferPointer { wp in
                LAPACKE_dsyevd(
                    LAPACK_COL_MAJOR, wantVectors ? CChar(UInt8(ascii: "V")) : CChar(UInt8(ascii: "N")),
                    CChar(UInt8(ascii: "L")), Int32(n), ap.baseAddress, Int32(n), wp.baseAddress)
            }
        }
        guard info == 0 else { throw Failure(routine: "dsyevd", info: Int(info)) }
        return Decomposition(values: w, vectors: wantVectors ? a : [], dimension: n)
    }

    /// Eigen-decomposition of the symmetric tridiagonal matrix with `diagonal` (n values) and
    /// `offDiagonal` (n − 1 values) by `dstevr` (relatively robust representations).
    public static func tridiagonal(diagonal: [Double], offDiagonal: [Double], vectors wantVectors: Bool = true)
        throws(Failure) -> Decomposition
    {
        let n = diagonal.count
        precondition(offDiagonal.count == max(n - 1, 0), "offDiagonal must hold n - 1 values")
        if n == 0 { return Decomposition(values: [], vectors: [], dimension: 0) }
        var d = diagonal
        var e = offDiagonal + [0]  // dstevr uses e as workspace of length n
        var m: Int32 = 0
        var w = [Double](repeating: 0, count: n)
        var z = [Double](repeating: 0, count: wantVectors ? n * n : 1)
        var isuppz = [Int32](repeating: 0, count: 2 * n)
        let info = d.withUnsafeMutableBufferPointer { dp in
            e.withUnsafeMutableBufferPointer { ep in
                w.withUnsafeMutableBufferPointer { wp in
                    z.withUnsafeMutableBufferPointer { zp in
                        isuppz.withUnsafeMutableBufferPointer { ip in
                            LAPACKE_dstevr(
                                LAPACK_COL_MAJOR, wantVectors ? CChar(UInt8(ascii: "V")) : CChar(UInt8(ascii: "N")),
                                CChar(UInt8(ascii: "A")), Int32(n), dp.baseAddress, ep.baseAddress, 0, 0, 0, 0, 0,
                                &m, wp.baseAddress, zp.baseAddress, Int32(wantVectors ? n : 1), ip.baseAddress)
                        }
                    }
                }
            }
        }
        guard info == 0 else { throw Failure(routine: "dstevr", info: Int(info)) }
        return Decomposition(values: Array(w.prefix(Int(m))), vectors: wantVectors ? z : [], dimension: n)
    }
}
