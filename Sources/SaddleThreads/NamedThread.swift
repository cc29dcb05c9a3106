import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Threads the daemon starts, named where the OS shows them (`top -H`, `perf`, `/proc`, debuggers,
/// crash reports), so that a busy or stuck thread says what it is doing: which run, which request.
public enum NamedThread {
    /// Linux keeps the first 15 bytes of a thread's name.
    public static let osNameLimit = 15

    /// Starts a thread running `body`, named `name` for Foundation and, from its first 15 bytes, for the OS.
    /// - Parameter stackSize: bytes; 8 MiB by default (deep JSON and the curvature code recurse).
    public static func start(name: String, stackSize: Int = 8 << 20, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread {
            // Foundation does not name the OS thread from a name set before `start`, and Linux refuses names past
            // 15 bytes, so the thread names itself, truncated.
            Thread.current.name = name
            setOSName(name)
            body()
        }
        thread.name = name
        thread.stackSize = stackSize
        thread.start()
    }

    /// The name the OS keeps for `name`: its first 15 bytes, cut back to a whole UTF-8 character.
    public static func osName(_ name: String) -> String {
        var bytes = Array(name.utf8.prefix(osNameLimit))
        while !bytes.isEmpty, String(validating: bytes, as: UTF8.self) == nil { bytes.removeLast() }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Names the calling thread for the OS. Through /proc/thread-self/comm: `pthread_setname_np` is a GNU
    /// extension that Swift's Glibc module does not export. Best effort: a failure leaves the name as it was.
    public static func setOSName(_ name: String) {
        #if canImport(Glibc)
            let fd = open("/proc/thread-self/comm", O_WRONLY)
            guard fd >= 0 else { return }
            defer { close(fd) }
            let bytes = Array(osName(name).utf8)
            _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        #endif
    }
}
