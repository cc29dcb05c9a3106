import Foundation
import SaddleJSON
import Synchronization

#if canImport(Glibc)
    import Glibc
    import SaddleThreads
#endif

/// The socket transport: serves any number of clients on a Unix domain socket readable only by its
/// owner (mode 0600). Each accepted client gets its own ``Connection`` (its own lifecycle and
/// subscriptions) over whatever the `makeConnection` closure shares (one server: workspace, runs,
/// store), one reader thread (``FileDescriptorTransport``) and one ``ClientSink``. A client that
/// sends `exit` or disconnects ends only its own connection.
public final class SocketListener: Sendable {
    /// Settings of the listener (saddled's `--listen`, `--max-clients`, `--max-client-backlog`).
    public struct Configuration: Sendable {
        /// Where the socket file lives; at most 107 bytes (`sun_path`).
        public var path: String
        /// Clients served at once; one more gets a -31002 error frame (id null) and is closed.
        public var maxClients: Int
        /// Unread output one client may leave before it is dropped.
        public var maxBacklogBytes: Int

        public init(path: String, maxClients: Int = 16, maxBacklogBytes: Int = 64 << 20) {
            self.path = path
            self.maxClients = maxClients
            self.maxBacklogBytes = maxBacklogBytes
        }
    }

    /// Why the socket could not be opened.
    public enum ListenError: Error, CustomStringConvertible {
        case pathTooLong(String)
        case inUse(String)
        case notASocket(String)
        case system(String, Int32)

        public var description: String {
            switch self {
            case .pathTooLong(let p): return "socket path \(p) is longer than 107 bytes; choose a shorter one"
            case .inUse(let p): return "another daemon answers on \(p); stop it or choose another --listen path"
            case .notASocket(let p): return "\(p) exists and is not a socket; remove it or choose another --listen path"
            case .system(let what, let code): return "\(what) failed: \(String(cString: strerror(code)))"
            }
        }
    }

    /// Makes the connection for one client: its sink, and what to do when it exits.
    public typealias ConnectionFactory =
        @Sendable (_ sink: ClientSink, _ onExit: @escaping @Sendable (Int32) -> Void) -> Connection

    public let configuration: Configuration
    private let makeConnection: ConnectionFactory
    private let overLimit: @Sendable (Int) -> RPCError
    private let listenFD = Mutex<Int32>(-1)
    private let clients = Mutex<(next: Int, live: Set<Int>)>((0, []))

    /// - Parameter overLimit: the error sent to a client over `maxClients` (given the limit).
    public init(
        configuration: Configuration, overLimit: @escaping @Sendable (Int) -> RPCError,
        makeConnection: @escaping ConnectionFactory
    ) {
        self.configuration = configuration
        self.overLimit = overLimit
        self.makeConnection = makeConnection
    }

    /// Clients connected now.
    public var clientCount: Int { clients.withLock { $0.live.count } }

    /// Creates the socket (mode 0600; a stale socket file is removed only if nothing answers on it),
    /// listens, and accepts clients on a thread of its own.
    public func start() throws(ListenError) {
        let path = configuration.path
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard pathBytes.count < capacity else { throw .pathTooLong(path) }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in pathBytes.enumerated() { raw[i] = b }
            raw[pathBytes.count] = 0
        }
        try Self.removeStaleSocket(path, address: address)

        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .system("socket()", errno) }
        // Only the owner may connect: the file is created 0600 (umask during bind), chmod for certainty.
        let previous = umask(0o177)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        let bindErrno = errno
        umask(previous)
        guard bound == 0 else {
            _ = close(fd)
            throw .system("bind(\(path))", bindErrno)
        }
        chmod(path, 0o600)
        guard listen(fd, 64) == 0 else {
            let code = errno
            _ = close(fd)
            throw .system("listen()", code)
        }
        listenFD.withLock { $0 = fd }
        NamedThread.start(name: "saddle.accept") { [self] in self.acceptLoop(fd) }
    }

    /// Stops accepting and removes the socket file (clients already connected are left to the process exit).
    public func stop() {
        let fd = listenFD.withLock { fd -> Int32 in
            defer { fd = -1 }; return fd
        }
        guard fd >= 0 else { return }
        shutdown(fd, Int32(SHUT_RDWR))
        _ = close(fd)
        unlink(configuration.path)
    }

    private static func removeStaleSocket(_ path: String, address: sockaddr_un) throws(ListenError) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard (info.st_mode & S_IFMT) == S_IFSOCK else { throw .notASocket(path) }
        let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard probe >= 0 else { throw .system("socket()", errno) }
        var address = address
        let answered =
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(probe, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            } == 0
        _ = close(probe)
        if answered { throw .inUse(path) }
        logToStderr("removing stale socket \(path) (nothing answers on it)")
        unlink(path)
    }

    private func acceptLoop(_ listener: Int32) {
        while true {
            let fd = accept(listener, nil, nil)
            if fd < 0 {
                if errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE {
                    if errno == EMFILE || errno == ENFILE { usleep(100_000) }
                    continue
                }
                return  // the listener was closed
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            admit(fd)
        }
    }

    private func admit(_ fd: Int32) {
        // Refuse peers of another user: the file mode should already stop them; this is the second lock.
        var credentials = PeerCredentials()
        var length = socklen_t(MemoryLayout<PeerCredentials>.size)
        let me = geteuid()
        guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0, credentials.uid == me else {
            logToStderr(
                "refusing a client of uid \(credentials.uid) (pid \(credentials.pid)): saddled runs as uid \(me) "
                    + "and serves only its own user")
            _ = close(fd)
            return
        }
        let limit = configuration.maxClients
        let id = clients.withLock { c -> Int? in
            guard c.live.count < limit else { return nil }
            c.next += 1
            c.live.insert(c.next)
            return c.next
        }
        guard let id else {
            logToStderr("refusing a client (pid \(credentials.pid)): \(limit) clients are connected (--max-clients)")
            refuse(fd, overLimit(limit))
            return
        }
        let label = "client \(id) (pid \(credentials.pid))"
        let sink = ClientSink(
            fd: fd, label: label, maxBacklogBytes: configuration.maxBacklogBytes, threadName: "saddle.write.\(id)"
        ) { [self] in
            _ = self.clients.withLock { $0.live.remove(id) }
        }
        logToStderr("\(label) connected")
        let connection = makeConnection(sink) { code in
            logToStderr("\(label) exited (code \(code))")
            sink.shutdownInput()
        }
        NamedThread.start(name: "saddle.read.\(id)") {
            FileDescriptorTransport.serve(connection, inputFD: fd)
            sink.finishInput()
        }
    }

    /// Sends one error frame (id null) and closes: for a client over `--max-clients`.
    private func refuse(_ fd: Int32, _ error: RPCError) {
        // One small frame into an empty socket buffer: the write does not block.
        if let body = try? OutgoingMessage.error(id: nil, error).serialized() {
            let frame = FrameEncoder.encode(body)
            _ = frame.withUnsafeBytes { FileDescriptorSink(fd: fd).write($0) }
        }
        shutdown(fd, Int32(SHUT_WR))
        _ = close(fd)
    }
}

/// Linux's `struct ucred` (pid, uid, gid: three 32-bit fields), which Glibc's Swift module does not
/// export without _GNU_SOURCE; filled by `getsockopt(SO_PEERCRED)`.
private struct PeerCredentials {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}
