#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// The few libm functions the module needs, in one place.
enum LibM {
    @inline(__always) static func exp(_ x: Double) -> Double {
        #if canImport(Glibc)
            Glibc.exp(x)
        #else
            Darwin.exp(x)
        #endif
    }
    @inline(__always) static func erfc(_ x: Double) -> Double {
        #if canImport(Glibc)
            Glibc.erfc(x)
        #else
            Darwin.erfc(x)
        #endif
    }
}
