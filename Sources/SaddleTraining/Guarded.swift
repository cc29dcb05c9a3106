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
    func wait<R>(
        until ready: (State) -> Bool, deadline: Date? = nil, notify: Bool = false,
        _ body: (inout State, Bool) throws -> R
    ) rethrows -> R {
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
