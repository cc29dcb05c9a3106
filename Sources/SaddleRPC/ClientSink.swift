import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
    import SaddleThreads
#endif

/// The output side of one socket client: a bounded buffer drained by a writer thread of its own,
/// so that a client that stops reading never blocks the daemon (the connection's writer only
/// appends here). When the unread backlog would pass `maxBacklogBytes`, the client is dropped: its
/// socket is shut down (which also ends its reader) and a line is logged.
///
/// The sink owns the descriptor: it is closed exactly once, after both the reader (``finishInput()``)
/// and the writer thread are done, so a descriptor number is never reused while a run still
/// notifies this client (later writes just return false).
public final class ClientSink: ByteSink {
    private struct State {
        var pending: [UInt8] = []
        /// No more writes accepted (dropped, write failed, or input finished and drained).
        var closed = false
        var dropped = false
        var readerDone = false
        var writerDone = false
        var fdClosed = false
    }

    public let fd: Int32
    public let label: String
    public let maxBacklogBytes: Int
    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)
    private let onClosed: @Sendable () -> Void

    /// - Parameters:
    ///   - fd: a connected socket; owned by the sink from now on.
    ///   - label: how logs name the client ("client 3").
    ///   - threadName: the writer thread's name ("saddle.write.3").
    ///   - onClosed: called once after the descriptor is closed.
    public init(
        fd: Int32, label: String, maxBacklogBytes: Int, threadName: String = "saddle.write",
        onClosed: @escaping @Sendable () -> Void = {}
    ) {
        self.fd = fd
        self.label = label
        self.maxBacklogBytes = maxBacklogBytes
        self.onClosed = onClosed
        NamedThread.start(name: threadName) { [self] in self.drain() }
    }

    /// Queues bytes for the client; false once the client is gone or was dropped. Never blocks on the peer.
    public func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let accepted = state.withLock { s -> Bool? in
            guard !s.closed else { return false }
            if s.pending.count + bytes.count > maxBacklogBytes {
                s.closed = true
                s.dropped = true
                return nil
            }
            s.pending.append(contentsOf: bytes)
            return true
        }
        guard let accepted else {
            logToStderr(
                "dropping \(label): more than \(maxBacklogBytes) bytes of output unread "
                    + "(--max-client-backlog); the client must read its socket")
            shutdown(fd, Int32(SHUT_RDWR))
            wake.signal()
            return false
        }
        if accepted { wake.signal() }
        return accepted
    }

    /// Ends the read side (after `exit`): the reader sees end of input and finishes.
    public func shutdownInput() { shutdown(fd, Int32(SHUT_RD)) }

    /// The reader is done: write what is pending, then close the descriptor.
    public func finishInput() {
        state.withLock { $0.readerDone = true }
        wake.signal()
        closeIfDone()
    }

    /// Whether the client was dropped for an unread backlog.
    public var wasDropped: Bool { state.withLock { $0.dropped } }

    private func drain() {
        let sink = FileDescriptorSink(fd: fd)
        while true {
            let (chunk, stop) = state.withLock { s -> ([UInt8], Bool) in
                if s.dropped { return ([], true) }
                if s.pending.isEmpty { return ([], s.readerDone) }
                defer { s.pending = [] }
                return (s.pending, false)
            }
            if stop { break }
            if chunk.isEmpty {
                wake.wait()
                continue
            }
            if !chunk.withUnsafeBytes({ sink.write($0) }) {
                state.withLock { $0.closed = true }
                shutdown(fd, Int32(SHUT_RDWR))  // the peer is gone: end the reader too
                break
            }
        }
        state.withLock { s in
            s.closed = true
            s.writerDone = true
        }
        closeIfDone()
    }

    private func closeIfDone() {
        let close = state.withLock { s -> Bool in
            guard s.readerDone, s.writerDone, !s.fdClosed else { return false }
            s.fdClosed = true
            return true
        }
        if close {
            _ = Glibc.close(fd)
            onClosed()
        }
    }
}
