// The Swift side: the same measurement through `BLASScalar.gemm`, the entry point every Saddle
// layer uses. Compiled by run.sh together with Sources/SaddleMath/BLASScalar.swift (so no
// package target is needed); prints lines in the same format as gemm_reference.c.
#if canImport(Glibc)
import Glibc
#endif

func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + 1e-9 * Double(t.tv_nsec)
}

func bench<T: BLASScalar>(_ type: T.Type, m: Int, k: Int, n: Int) -> Double {
    let a = (0..<(m * k)).map { T(Double(($0 * 7919) % 1000) / 1000 - 0.5) }
    let b = (0..<(k * n)).map { T(Double(($0 * 104729) % 1000) / 1000 - 0.5) }
    var c = [T](repeating: 0, count: m * n)
    var best = Double.infinity, runs = 0
    let start = now()
    while true {
        let t0 = now()
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in
                    T.gemm(transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: ap.baseAddress!, lda: k,
                           b: bp.baseAddress!, ldb: n, beta: 0, c: cp.baseAddress!, ldc: n)
                }
            }
        }
        let t = now() - t0
        if runs > 0 { best = min(best, t) }  // the first call is a warm-up
        runs += 1
        if runs > 5 && now() - start > 1.0 { break }
    }
    return 2 * Double(m * n * k) / best / 1e9
}

let sizes = [(128, 784, 256), (256, 256, 128), (512, 512, 512), (1024, 1024, 1024)]
for (name, isFloat) in [("sgemm", true), ("dgemm", false)] {
    for (m, k, n) in sizes {
        let g = isFloat ? bench(Float.self, m: m, k: k, n: n) : bench(Double.self, m: m, k: k, n: n)
        print("\(name) \(m) \(k) \(n) \(String(format2: g))")
    }
}

extension String {
    init(format2 value: Double) { self = String(Double(Int((value * 100).rounded())) / 100) }
}
