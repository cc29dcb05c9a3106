import Foundation
import SaddleJSON
import Synchronization
import SaddleThreads

/// One client connection: decodes frames, enforces the LSP lifecycle, dispatches requests to the
/// ``MethodTable``, and guarantees that every request gets exactly one response (after
/// cancellation, -32800; after `shutdown`, -32600).
///
/// Input arrives through ``receive(_:)`` from one reader (the transport); output leaves through
/// one ``OutputChannel``. Handlers marked ``Execution/background`` run on threads of their own,
/// so a slow request never holds up others and responses may leave out of order; ``Execution/staged``
/// handlers take effect on the reader thread, in message order, and finish on a thread of their own.
public final class Connection: Sendable {
    /// Settings of a connection.
    public struct Configuration: Sendable {
        public var serverName: String
        public var serverVersion: String
        /// Frames declaring more bytes are answered with an error and skipped unbuffered.
        public var maxFrameBytes: Int
        /// JSON nesting deeper than this is refused.
        public var maxJSONDepth: Int
        /// Notifications the server sends, listed in `initialize`'s capabilities.
        public var serverNotifications: [String]
        /// Called with `initialize`'s params; returns extra members for the result's `capabilities`.
        public var onInitialize: @Sendable (JSON?, Connection) throws -> [String: JSON]

        public init(
            serverName: String, serverVersion: String, maxFrameBytes: Int = 64 << 20,
            maxJSONDepth: Int = JSON.defaultMaxDepth, serverNotifications: [String] = [],
            onInitialize: @escaping @Sendable (JSON?, Connection) throws -> [String: JSON] = { _, _ in [:] }
        ) {
            self.serverName = serverName
            self.serverVersion = serverVersion
            self.maxFrameBytes = maxFrameBytes
            self.maxJSONDepth = maxJSONDepth
            self.serverNotifications = serverNotifications
            self.onInitialize = onInitialize
        }
    }

    /// LSP lifecycle states.
    public enum Lifecycle: Sendable, Equatable {
        case uninitialized, initialized, shutDown
    }

    private struct InFlight {
        let token: CancellationToken
        let target: ResponseTarget
        /// Set by ``Connection/commit(_:token:)``: the handler's answer stands, and a cancellation comes too late.
        var committed = false
    }

    private struct State {
        var lifecycle = Lifecycle.uninitialized
        var inFlight: [RequestID: InFlight] = [:]
        var exited = false
    }

    /// Lifecycle and client-notification method names handled by the connection itself.
    public static let lifecycleMethods = ["initialize", "shutdown"]
    public static let builtInNotifications = ["initialized", "exit", "$/cancelRequest"]
    public static let builtInServerNotifications = ["$/progress", "window/logMessage"]

    public let configuration: Configuration
    private let table: MethodTable
    private let output: OutputChannel
    private let decoder: Mutex<FrameDecoder>
    private let state = Mutex(State())
    private let onExit: @Sendable (Int32) -> Void

    /// - Parameters:
    ///   - onExit: called once with the exit code (0 after `shutdown`, 1 without) when the client
    ///     sends `exit` or input ends.
    public init(
        configuration: Configuration, methods: MethodTable, sink: any ByteSink,
        onExit: @escaping @Sendable (Int32) -> Void
    ) {
        self.configuration = configuration
        self.table = methods
        self.output = OutputChannel(sink: sink)
        self.decoder = Mutex(FrameDecoder(maxFrameBytes: configuration.maxFrameBytes))
        self.onExit = onExit
    }

    /// The current lifecycle state.
    public var lifecycle: Lifecycle { state.withLock { $0.lifecycle } }

    /// Background requests being worked on (inline ones finish before the next message is read).
    public var requestsInFlight: Int { state.withLock { $0.inFlight.count } }

    /// Every request method this connection answers, lifecycle included, sorted.
    public var servedMethods: [String] { (Self.lifecycleMethods + table.methodNames).sorted() }

    // MARK: Input

    /// Feeds bytes read from the client. Called by one reader at a time.
    public func receive(_ bytes: UnsafeRawBufferPointer) {
        output.hold()
        defer { output.release() }
        decoder.withLock { decoder in
            decoder.feed(bytes) { event in
                switch event {
                case .frame(let body): self.handleFrame(body)
                case .oversized(let declared, let limit):
                    self.sendError(
                        nil,
                        RPCError.invalidRequest(
                            "frame of \(declared) bytes exceeds the maximum frame size of \(limit) bytes; "
                                + "send a smaller message or start saddled with a larger --max-frame-size"))
                case .malformed(let why):
                    self.sendError(
                        nil, RPCError.parseError("malformed frame header: \(why); expected \"Content-Length: N\\r\\n\\r\\n\""))
                }
            }
        }
    }

    /// The client closed its end: exit as LSP prescribes for a missing `exit` (code 1 without `shutdown`).
    public func endOfInput() {
        finishProcess()
    }

    private func handleFrame(_ body: UnsafeRawBufferPointer) {
        let value: JSON
        do {
            value = try JSON.parse(body, maxDepth: configuration.maxJSONDepth)
        } catch .tooDeep(let limit) {
            sendError(nil, .invalidRequest("message nests deeper than \(limit) levels; flatten it or raise --max-json-depth"))
            return
        } catch {
            sendError(nil, .parseError("\(error)"))
            return
        }
        if case .array(let elements) = value {
            handleBatch(elements)
        } else {
            handle(IncomingMessage.classify(value), target: .direct)
        }
    }

    private func handleBatch(_ elements: [JSON]) {
        guard !elements.isEmpty else {
            sendError(nil, .invalidRequest("a batch must not be an empty array"))
            return
        }
        let messages = elements.map(IncomingMessage.classify)
        let answered = messages.filter {
            switch $0 {
            case .request, .invalid: return true
            case .notification, .response: return false
            }
        }.count
        let collector = BatchCollector(expected: answered)
        for message in messages { handle(message, target: answered > 0 ? .batch(collector) : .direct) }
    }

    private func handle(_ message: IncomingMessage, target: ResponseTarget) {
        switch message {
        case .invalid(let id, let reason):
            deliver(OutgoingMessage.error(id: id, .invalidRequest(reason)), to: target)
        case .response:
            break  // Saddle sends no requests that await answers.
        case .notification(let method, let params):
            handleNotification(method, params)
        case .request(let id, let method, let params):
            handleRequest(id: id, method: method, params: params, target: target)
        }
    }

    // MARK: Requests

    private func handleRequest(id: RequestID, method: String, params: JSON?, target: ResponseTarget) {
        let lifecycle = state.withLock { $0.lifecycle }
        switch (lifecycle, method) {
        case (.uninitialized, "initialize"):
            answerInitialize(id: id, params: params, target: target)
            return
        case (.uninitialized, _):
            deliver(OutgoingMessage.error(id: id, .serverNotInitialized), to: target)
            return
        case (.shutDown, _):
            deliver(
                OutgoingMessage.error(id: id, .invalidRequest("server is shut down; only the exit notification is accepted")),
                to: target)
            return
        case (.initialized, "initialize"):
            deliver(OutgoingMessage.error(id: id, .invalidRequest("initialize may be sent only once")), to: target)
            return
        case (.initialized, "shutdown"):
            state.withLock { $0.lifecycle = .shutDown }
            deliver(OutgoingMessage.response(id: id, result: .null), to: target)
            return
        default:
            break
        }
        guard let entry = table.entry(method) else {
            deliver(OutgoingMessage.error(id: id, .methodNotFound(method)), to: target)
            return
        }
        let token = CancellationToken()
        let background = entry.execution != .inline
        // Inline requests finish before the next message is read, so only background ones are
        // tracked (for cancellation); an id still in flight is refused either way.
        let duplicate = state.withLock { s -> Bool in
            if s.inFlight[id] != nil { return true }
            if background { s.inFlight[id] = InFlight(token: token, target: target) }
            return false
        }
        if duplicate {
            deliver(
                OutgoingMessage.error(id: id, .invalidRequest("id \(id) is already used by a request in flight; use a fresh id")),
                to: target)
            return
        }
        let context = RequestContext(
            id: id, method: method, cancellation: token, workDoneToken: params?["workDoneToken"], connection: self)
        let finish: @Sendable (Result<JSON, RPCError>) -> Void = { outcome in
            if background {
                self.complete(id: id, outcome)
            } else {
                self.answer(id: id, outcome, to: target)
            }
        }
        let onThread: @Sendable (@escaping @Sendable () throws -> JSON) -> Void = { body in
            // Named for the method: a busy thread in `top -H` or `perf` says which request it serves.
            NamedThread.start(name: method) { finish(Self.outcome(of: body)) }
        }
        switch entry.execution {
        case .inline, .staged:
            // A staged method's start runs here, in message order; only its finish goes to a thread.
            do {
                switch try entry.handle(params, context) {
                case .done(let result): finish(.success(result))
                case .then(let rest): onThread(rest)
                }
            } catch {
                finish(.failure(RPCError(from: error)))
            }
        case .background:
            onThread {
                switch try entry.handle(params, context) {
                case .done(let result): return result
                case .then(let rest): return try rest()
                }
            }
        }
    }

    private static func outcome(of body: () throws -> JSON) -> Result<JSON, RPCError> {
        do { return .success(try body()) } catch { return .failure(RPCError(from: error)) }
    }

    private func complete(id: RequestID, _ outcome: Result<JSON, RPCError>) {
        guard let entry = state.withLock({ $0.inFlight.removeValue(forKey: id) }) else {
            return  // Already answered: cancelled.
        }
        answer(id: id, outcome, to: entry.target)
    }

    private func answer(id: RequestID, _ outcome: Result<JSON, RPCError>, to target: ResponseTarget) {
        switch outcome {
        case .success(let result):
            deliver(OutgoingMessage.response(id: id, result: result), to: target)
        case .failure(let error):
            deliver(OutgoingMessage.error(id: id, error), to: target)
        }
    }

    private func answerInitialize(id: RequestID, params: JSON?, target: ResponseTarget) {
        let extra: [String: JSON]
        do {
            extra = try configuration.onInitialize(params, self)
        } catch {
            deliver(OutgoingMessage.error(id: id, RPCError(from: error)), to: target)
            return
        }
        var capabilities: [String: JSON] = [
            "methods": .array(servedMethods.map { .string($0) }),
            "notifications": .array((Self.builtInNotifications + table.notificationNames).sorted().map { .string($0) }),
            "serverNotifications": .array(
                (Self.builtInServerNotifications + configuration.serverNotifications).sorted().map { .string($0) }),
            "workDoneProgress": true,
        ]
        capabilities.merge(extra) { _, new in new }
        state.withLock { $0.lifecycle = .initialized }
        let result: JSON = [
            "capabilities": .object(capabilities),
            "serverInfo": ["name": .string(configuration.serverName), "version": .string(configuration.serverVersion)],
        ]
        deliver(OutgoingMessage.response(id: id, result: result), to: target)
    }

    // MARK: Notifications

    private func handleNotification(_ method: String, _ params: JSON?) {
        if method == "exit" {
            finishProcess()
            return
        }
        let lifecycle = state.withLock { $0.lifecycle }
        guard lifecycle != .uninitialized else { return }  // LSP: dropped before initialize.
        switch method {
        case "initialized":
            return
        case "$/cancelRequest":
            guard let id = params?["id"].flatMap(RequestID.init(json:)) else { return }
            cancel(id)
        default:
            if let entry = table.notificationEntry(method) {
                do { try entry.handle(params, self) } catch { logToStderr("notification \(method) failed: \(error)") }
            }
        // Unknown notifications (`$/…` included) are ignored, as LSP says.
        }
    }

    /// Cancels request `id` if it is in flight and its handler has not committed to its answer: answers -32800
    /// now and signals its handler to stop.
    public func cancel(_ id: RequestID) {
        let cancelled = state.withLock { s -> InFlight? in
            guard let entry = s.inFlight[id], !entry.committed else { return nil }
            s.inFlight[id] = nil
            // Under the lock, so that `commit` sees either the entry or the cancelled token.
            entry.token.cancel()
            return entry
        }
        guard let cancelled else { return }
        deliver(OutgoingMessage.error(id: id, .requestCancelled), to: cancelled.target)
    }

    /// Commits request `id` to the answer its handler is about to give: from now on a cancellation is too late
    /// (the client gets the answer, not -32800). False when the request was cancelled first (its -32800 has gone
    /// out): the handler must then undo what it did. See ``RequestContext/commit()``.
    func commit(_ id: RequestID, token: CancellationToken) -> Bool {
        state.withLock { s in
            if s.inFlight[id] != nil {
                s.inFlight[id]?.committed = true
                return true
            }
            return !token.isCancelled  // an inline request is never tracked, and never cancelled
        }
    }

    private func finishProcess() {
        let (first, code) = state.withLock { s -> (Bool, Int32) in
            defer { s.exited = true }
            return (!s.exited, s.lifecycle == .shutDown ? 0 : 1)
        }
        guard first else { return }
        for (_, entry) in state.withLock({ $0.inFlight }) { entry.token.cancel() }
        output.flush()
        onExit(code)
    }

    // MARK: Output

    /// Sends a notification to the client. Safe from any thread.
    public func notify(_ method: String, params: JSON) {
        do {
            try output.send(OutgoingMessage.notification(method: method, params: params), maxDepth: configuration.maxJSONDepth)
        } catch {
            logToStderr("dropped notification \(method): \(error)")
        }
    }

    /// Sends `window/logMessage` (type 1 error … 4 log, as in LSP).
    public func logMessage(_ type: LogType, _ message: String) {
        notify("window/logMessage", params: ["type": .int(Int64(type.rawValue)), "message": .string(message)])
    }

    /// Whether the client can still be written to.
    public var isOutputOpen: Bool { !output.isClosed }

    private func sendError(_ id: RequestID?, _ error: RPCError) {
        deliver(OutgoingMessage.error(id: id, error), to: .direct)
    }

    private func deliver(_ message: JSON, to target: ResponseTarget) {
        switch target {
        case .direct:
            send(message)
        case .batch(let collector):
            if let all = collector.add(message) { send(.array(all)) }
        }
    }

    private func send(_ message: JSON) {
        do {
            try output.send(message, maxDepth: configuration.maxJSONDepth)
        } catch {
            // A result that cannot be serialized still gets its one answer.
            let id = message["id"].flatMap(RequestID.init(json:))
            let fallback = OutgoingMessage.error(id: id, .internalError("the result could not be encoded: \(error)"))
            do { try output.send(fallback, maxDepth: configuration.maxJSONDepth) } catch { logToStderr("\(error)") }
        }
    }
}

/// LSP's `MessageType`.
public enum LogType: Int, Sendable {
    case error = 1, warning = 2, info = 3, log = 4
}

enum ResponseTarget: Sendable {
    case direct
    case batch(BatchCollector)
}

/// Gathers the answers of one batch; the whole array leaves when the last answer arrives.
final class BatchCollector: Sendable {
    private let state: Mutex<(expected: Int, answers: [JSON])>
    init(expected: Int) { state = Mutex((expected, [])) }
    /// Adds an answer; returns all answers once complete.
    func add(_ answer: JSON) -> [JSON]? {
        state.withLock { s in
            s.answers.append(answer)
            return s.answers.count == s.expected ? s.answers : nil
        }
    }
}

/// Logs to stderr: stdout carries protocol bytes only.
public func logToStderr(_ message: String) {
    var line = Array("saddled: \(message)\n".utf8)
    line.withUnsafeMutableBytes { raw in _ = fputs_bytes(raw) }
}

private func fputs_bytes(_ raw: UnsafeMutableRawBufferPointer) -> Int {
    guard let base = raw.baseAddress else { return 0 }
    return write(2, base, raw.count)
}
