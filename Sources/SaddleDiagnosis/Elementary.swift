#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The few libm functions the diagnosis needs, in one place.
enum Elementary {
    @inline(__always) static func pow(_ x: Double, _ y: Double) -> Double {
        #if canImport(Glibc)
            Glibc.pow(x, y)
        #else
            Darwin.pow(x, y)
        #endif
    }
    @inline(__always) static func log(_ x: Double) -> Double {
        #if canImport(Glibc)
            Glibc.log(x)
        #else
            Darwin.log(x)
        #endif
    }
    @inline(__always) static func log10(_ x: Double) -> Double {
        #if canImport(Glibc)
            Glibc.log10(x)
        #else
            Darwin.log10(x)
        #endif
    }
}
