import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Mutable state behind an `NSCondition`: every access holds the lock, and waiters sleep on the
/// condition until another thread changes the state and broadcasts. The one place this module
/// shares mutable state between threads, hence the one `@unchecked Sendable`.
final class Guarded<State>: @unchecked Sendable {
    private let condition = NSCondition()
    private var state: State

    init(_ state: State) { self.state = state }

    /// Runs `body` with the lock held; wakes all waiters afterwards when `notify` is set.
    func withLock<R>(notify: Bool = false, _ body: (inout State) throws -> R) rethrows -> R {
        condition.lock()
        defer {
            if notify { condition.broadcast() }
            condition.unlock()
        }
        return try body(&state)
    }

    /// Waits (lock released while asleep) until `ready` holds or `deadline` passes, then runs `body`
    /// with the lock held. `body` sees whether `ready` held.
    func wait<R>(until ready: (State) -> Bool, deadline: Date? = nil, notify: Bool = false,
                 _ body: (inout State, Bool) throws -> R) rethrows -> R {
        condition.lock()
        defer {
            if notify { condition.broadcast() }
            condition.unlock()
        }
        while !ready(state) {
            if let deadline {
                if !condition.wait(until: deadline) { break }
            } else {
                condition.wait()
            }
        }
        return try body(&state, ready(state))
    }

    func broadcast() {
        condition.lock()
        condition.broadcast()
        condition.unlock()
    }
}

/// Seconds on a monotonic clock, for durations.
@inline(__always) func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Starts a named thread with an 8 MiB stack running `body`. The name (first 15 bytes on Linux)
/// shows in `top -H`, debuggers and crash reports.
func startThread(name: String, _ body: @escaping @Sendable () -> Void) {
    let thread = Thread {
        // Best effort: Foundation names the OS thread only when the name is set from the thread itself, and
        // Linux refuses names past 15 bytes, so the OS name is the first 15 ("saddle.run.r0a9" in perf and /proc).
        Thread.current.name = name
        setOSThreadName(name)
        body()
    }
    thread.name = name
    thread.stackSize = 8 << 20
    thread.start()
}

/// Names the calling thread for the OS (perf, /proc, debuggers): the first 15 bytes of `name`, all Linux keeps.
/// Through /proc/thread-self/comm: `pthread_setname_np` is a GNU extension Swift's Glibc module does not export.
private func setOSThreadName(_ name: String) {
    #if canImport(Glibc)
    let fd = open("/proc/thread-self/comm", O_WRONLY)
    guard fd >= 0 else { return }
    defer { close(fd) }
    let bytes = Array(name.utf8.prefix(15))
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    #endif
}

