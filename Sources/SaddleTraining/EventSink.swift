import Foundation

/// A bounded buffer between runs (producers) and one client-facing consumer, that never blocks a
/// producer.
///
/// At most `capacity` step events wait; when a new one arrives at a full buffer, the oldest waiting
/// step event is dropped and counted, so a slow consumer sees the latest events plus how many it
/// missed. `finished` events are never dropped (there is one per run). The run store, not the sink,
/// keeps every step.
public final class EventSink: Sendable {
    public let capacity: Int
    private let shared: Guarded<SinkState>

    /// What one ``take(max:timeout:)`` returns.
    public struct Delivery: Sendable, Equatable {
        public var events: [RunEvent]
        /// Step events dropped since the previous delivery.
        public var dropped: Int
    }

    public init(capacity: Int = 256) {
        precondition(capacity > 0, "capacity must be positive")
        self.capacity = capacity
        self.shared = Guarded(SinkState())
    }

    /// Adds an event in O(capacity) at worst, never waiting for the consumer.
    public func publish(_ event: RunEvent) {
        shared.withLock(notify: true) { s in
            guard !s.closed else { return }
            if case .step = event {
                if s.stepCount >= capacity,
                    let oldest = s.events.firstIndex(where: { if case .step = $0 { true } else { false } })
                {
                    s.events.remove(at: oldest)
                    s.stepCount -= 1
                    s.dropped += 1
                    s.totalDropped += 1
                }
                s.stepCount += 1
            }
            s.events.append(event)
        }
    }

    /// Waits up to `timeout` seconds (nil: until something arrives or the sink closes) and returns
    /// up to `max` waiting events, oldest first, with the drop count since the last delivery.
    public func take(max: Int = .max, timeout: Double? = nil) -> Delivery {
        let deadline = timeout.map { Date(timeIntervalSinceNow: $0) }
        return shared.wait(until: { !$0.events.isEmpty || $0.dropped > 0 || $0.closed }, deadline: deadline) { s, _ in
            let n = min(max, s.events.count)
            let out = Array(s.events.prefix(n))
            s.events.removeFirst(n)
            s.stepCount -= out.reduce(0) { if case .step = $1 { $0 + 1 } else { $0 } }
            let dropped = s.dropped
            s.dropped = 0
            return Delivery(events: out, dropped: dropped)
        }
    }

    /// Step events dropped since the sink was made.
    public var totalDropped: Int { shared.withLock { $0.totalDropped } }

    /// Ends delivery: publishers are ignored and a waiting ``take(max:timeout:)`` returns.
    public func close() { shared.withLock(notify: true) { $0.closed = true } }
}

struct SinkState {
    var events: [RunEvent] = []
    var stepCount = 0
    var dropped = 0
    var totalDropped = 0
    var closed = false
}
