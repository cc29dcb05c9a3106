import Foundation
import SaddleJSON
import SaddleRPC
import Synchronization

/// A client of saddled: spawns the daemon, or attaches to one that serves a Unix domain socket
/// (`saddled --listen PATH`), sends requests, matches answers by id, and hands notifications to a
/// callback. Framing is SaddleRPC's codec, the same one the daemon uses, on either transport.
final class DaemonClient: Sendable {
    struct Failure: Error, CustomStringConvertible {
        let method: String
        let code: Int64
        let message: String
        var description: String { "\(method) failed (\(code)): \(message)" }
    }

    private struct State {
        var nextID: Int64 = 1
        var answers: [Int64: JSON] = [:]
        var notifications: [(method: String, params: JSON)] = []
        var closed = false
    }

    /// The spawned daemon; nil when attached to a socket (the daemon is not ours to wait for).
    private let process: Process?
    private let input: FileHandle
    private let state = Mutex(State())
    private let arrived = NSCondition()
    private let onNotification: @Sendable (String, JSON) -> Void

    /// Attaches to the daemon serving the Unix socket `socket` (or `$SADDLE_SOCKET` when `socket` is nil);
    /// without either, starts `saddled` (next to this executable unless `$SADDLED` names another) with
    /// `arguments`. `arguments` configure a daemon this client starts, so they are ignored when attaching.
    init(
        arguments: [String] = [], socket: String? = nil,
        onNotification: @escaping @Sendable (String, JSON) -> Void
    ) throws {
        signal(SIGPIPE, SIG_IGN)  // a daemon that exits shows up as a failed write, not a signal
        self.onNotification = onNotification
        if let path = DaemonClient.socketPath(socket) {
            let connection = try UnixSocket.connect(path)
            self.process = nil
            self.input = connection
            let thread = Thread { [self] in self.readLoop(connection) }
            thread.name = "saddle client reader"
            thread.start()
            return
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: DaemonClient.daemonPath())
        process.arguments = arguments
        let stdin = Pipe(), stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle.standardError
        try process.run()
        self.process = process
        self.input = stdin.fileHandleForWriting
        let output = stdout.fileHandleForReading
        let thread = Thread { [self] in self.readLoop(output) }
        thread.name = "saddle client reader"
        thread.start()
    }

    /// The socket to attach to: `given`, else a non-empty `$SADDLE_SOCKET`, else nil (spawn a daemon).
    static func socketPath(_ given: String?) -> String? {
        if let given { return given }
        if let path = ProcessInfo.processInfo.environment["SADDLE_SOCKET"], !path.isEmpty { return path }
        return nil
    }

    /// Whether this client is attached to a shared daemon rather than one it started.
    var isAttached: Bool { process == nil }

    static func daemonPath() -> String {
        if let path = ProcessInfo.processInfo.environment["SADDLED"] { return path }
        let me = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        return me.deletingLastPathComponent().appendingPathComponent("saddled").path
    }

    private func readLoop(_ output: FileHandle) {
        var decoder = FrameDecoder()
        while true {
            let data = output.availableData
            if data.isEmpty { break }
            data.withUnsafeBytes { raw in
                decoder.feed(raw) { event in
                    guard case .frame(let body) = event, let message = try? JSON.parse(body, maxDepth: 256) else { return }
                    if case .string(let method)? = message["method"] {
                        let params = message["params"] ?? .null
                        onNotification(method, params)
                        arrived.lock()
                        state.withLock { $0.notifications.append((method, params)) }
                        arrived.broadcast()
                        arrived.unlock()
                    } else if let id = message["id"]?.int64Value {
                        arrived.lock()
                        state.withLock { $0.answers[id] = message }
                        arrived.broadcast()
                        arrived.unlock()
                    }
                }
            }
        }
        arrived.lock()
        state.withLock { $0.closed = true }
        arrived.broadcast()
        arrived.unlock()
    }

    /// A request sent and not yet answered (``send(_:_:)``); ``answer(_:)`` waits for it.
    struct Pending: Sendable {
        let id: Int64
        let method: String
    }

    /// Sends a request and waits for its answer; throws ``Failure`` for an error answer.
    @discardableResult
    func call(_ method: String, _ params: JSON = .object([:])) throws -> JSON {
        try answer(try send(method, params))
    }

    /// Sends a request now (so it reaches the daemon before anything sent after it) without waiting.
    func send(_ method: String, _ params: JSON = .object([:])) throws -> Pending {
        let id = state.withLock { s -> Int64 in
            defer { s.nextID += 1 }; return s.nextID
        }
        try send(["jsonrpc": "2.0", "id": .int(id), "method": .string(method), "params": params])
        return Pending(id: id, method: method)
    }

    /// Waits for the answer to a request sent with ``send(_:_:)``; throws ``Failure`` for an error answer.
    func answer(_ request: Pending) throws -> JSON {
        arrived.lock()
        defer { arrived.unlock() }
        while true {
            let (answer, closed) = state.withLock { s in (s.answers.removeValue(forKey: request.id), s.closed) }
            if let answer {
                if let error = answer["error"] {
                    throw Failure(
                        method: request.method, code: error["code"]?.int64Value ?? 0,
                        message: error["message"]?.stringValue ?? "\(error)")
                }
                return answer["result"] ?? .null
            }
            if closed {
                throw Failure(
                    method: request.method, code: 0,
                    message: process == nil ? "saddled closed the connection" : "saddled exited")
            }
            arrived.wait()
        }
    }

    /// Waits for a notification `method` whose params satisfy `matching` (removing it and every
    /// notification before it from the queue); nil when the daemon exits or `timeout` passes.
    func waitForNotification(
        _ method: String, timeout: TimeInterval = .infinity,
        matching: (JSON) -> Bool = { _ in true }
    ) -> JSON? {
        let deadline = Date().addingTimeInterval(timeout)
        arrived.lock()
        defer { arrived.unlock() }
        while true {
            let (found, closed) = state.withLock { s -> (JSON?, Bool) in
                if let index = s.notifications.firstIndex(where: { $0.method == method && matching($0.params) }) {
                    let params = s.notifications[index].params
                    s.notifications.removeFirst(index + 1)
                    return (params, s.closed)
                }
                return (nil, s.closed)
            }
            if let found { return found }
            if closed || Date() >= deadline { return nil }
            _ = arrived.wait(until: min(deadline, Date().addingTimeInterval(1)))
        }
    }

    func notify(_ method: String, _ params: JSON = .object([:])) throws {
        try send(["jsonrpc": "2.0", "method": .string(method), "params": params])
    }

    private func send(_ message: JSON) throws {
        do {
            try input.write(contentsOf: Data(FrameEncoder.encode(try message.serialized())))
        } catch {
            throw Failure(
                method: message["method"]?.stringValue ?? "?", code: 0,
                message: "saddled is not running (it exited; see its message above)")
        }
    }

    /// initialize + initialized.
    func initialize(options: JSON? = nil) throws {
        var params: [String: JSON] = [
            "processId": .int(Int(ProcessInfo.processInfo.processIdentifier)),
            "clientInfo": ["name": "saddle"], "capabilities": [:],
        ]
        if let options { params["initializationOptions"] = options }
        try call("initialize", .object(params))
        try notify("initialized")
    }

    /// shutdown + exit, then waits for the daemon to end — or, attached to a socket, for the daemon to
    /// close this connection (it keeps serving its other clients).
    func close() {
        _ = try? call("shutdown", .null)
        try? notify("exit")
        if let process {
            process.waitUntilExit()
        } else {
            _ = waitForClosed(timeout: 10)
            try? input.close()
        }
    }

    private func waitForClosed(timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        arrived.lock()
        defer { arrived.unlock() }
        while !state.withLock({ $0.closed }) {
            if Date() >= deadline { return false }
            _ = arrived.wait(until: deadline)
        }
        return true
    }
}
