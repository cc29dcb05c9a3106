import Foundation

/// Keeps `run/ingest` and `run/stop` of an ingested run in arrival order although both work on threads of their
/// own: each ingest takes a ticket when it arrives, and a stop waits for every ingest that arrived before it to
/// finish before it marks the run finished. Without it, a client that pipelines its last ingests and its stop
/// could see the stop overtake them and the late ingests refused (the run has finished).
final class IngestOrder: @unchecked Sendable {
    /// Per run: the next ticket, and the tickets taken and not yet finished.
    private struct Tickets {
        var next = 0
        var open: Set<Int> = []
    }

    /// Guards `runs`; every access holds it.
    private let condition = NSCondition()
    private var runs: [String: Tickets] = [:]

    /// An ingest into `run` arrived: its ticket, to give back with ``finish(_:ticket:)``.
    func begin(_ run: String) -> Int {
        condition.lock()
        defer { condition.unlock() }
        var tickets = runs[run, default: Tickets()]
        let ticket = tickets.next
        tickets.next += 1
        tickets.open.insert(ticket)
        runs[run] = tickets
        return ticket
    }

    /// The ingest holding `ticket` has answered (accepted or refused).
    func finish(_ run: String, ticket: Int) {
        condition.lock()
        runs[run]?.open.remove(ticket)
        condition.broadcast()
        condition.unlock()
    }

    /// A stop of `run` arrived: the barrier to wait for (the tickets taken so far).
    func barrier(_ run: String) -> Int {
        condition.lock()
        defer { condition.unlock() }
        return runs[run]?.next ?? 0
    }

    /// Waits until every ingest of `run` that took a ticket below `barrier` has finished.
    func wait(_ run: String, for barrier: Int) {
        condition.lock()
        defer { condition.unlock() }
        while runs[run]?.open.contains(where: { $0 < barrier }) ?? false { condition.wait() }
    }
}
