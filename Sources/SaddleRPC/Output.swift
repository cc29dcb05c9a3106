import SaddleJSON
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Where outgoing bytes go: a file descriptor in the daemon, memory in tests.
public protocol ByteSink: Sendable {
    /// Writes all bytes; returns false once the peer is gone.
    func write(_ bytes: UnsafeRawBufferPointer) -> Bool
}

/// Writes to a file descriptor, retrying short writes and EINTR. SIGPIPE must be ignored by the
/// process so that a vanished peer shows up as a failed write, not a signal.
public struct FileDescriptorSink: ByteSink {
    public let fd: Int32
    public init(fd: Int32) { self.fd = fd }
    public func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard var base = bytes.baseAddress else { return true }
        var remaining = bytes.count
        while remaining > 0 {
            let n = Glibc.write(fd, base, remaining)
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                return false
            }
            remaining -= n
            base += n
        }
        return true
    }
}

/// Collects bytes in memory: the transport's test double.
public final class MemorySink: ByteSink {
    private let storage = Mutex<[UInt8]>([])
    public init() {}
    public func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        storage.withLock { $0.append(contentsOf: bytes) }
        return true
    }
    /// Removes and returns everything written so far.
    public func take() -> [UInt8] {
        storage.withLock { s in
            defer { s.removeAll() }; return s
        }
    }
}

/// The one writer of a connection: every frame is written whole, under one lock, in the order
/// sent. While the reader processes a chunk of input it holds the output, so that answers to
/// pipelined requests leave in one write instead of one per answer.
final class OutputChannel: Sendable {
    private struct State {
        var pending: [UInt8] = []
        var holds = 0
        var closed = false
    }
    private let sink: any ByteSink
    private let state = Mutex(State())

    init(sink: any ByteSink) { self.sink = sink }

    /// Serializes and sends one message. A value that cannot be serialized (e.g. a NaN that a
    /// handler forgot to spell as a string) is reported by the returned error instead.
    func send(_ message: JSON, maxDepth: Int) throws(JSONError) {
        let frame = FrameEncoder.encode(try message.serialized(maxDepth: maxDepth + 4))
        state.withLock { s in
            guard !s.closed else { return }
            if s.holds > 0 {
                s.pending.append(contentsOf: frame)
            } else {
                let ok = frame.withUnsafeBytes { sink.write($0) }
                if !ok { s.closed = true }
            }
        }
    }

    /// Writes whatever is pending now, held or not (before the process exits).
    func flush() {
        state.withLock { s in
            guard !s.pending.isEmpty else { return }
            if !s.closed, !s.pending.withUnsafeBytes({ sink.write($0) }) { s.closed = true }
            s.pending.removeAll()
        }
    }

    func hold() { state.withLock { $0.holds += 1 } }

    func release() {
        state.withLock { s in
            s.holds -= 1
            guard s.holds == 0, !s.pending.isEmpty else { return }
            if !s.closed {
                let ok = s.pending.withUnsafeBytes { sink.write($0) }
                if !ok { s.closed = true }
            }
            s.pending.removeAll(keepingCapacity: s.pending.capacity <= 1 << 20)
        }
    }

    var isClosed: Bool { state.withLock { $0.closed } }
}
