import SaddleJSON

/// A request type: its method name, parameter type and result type, in one place.
///
/// Each method of the daemon is one such type in a file of its own, registered once in a
/// ``MethodTable``; the protocol reference and its JSON Schema are checked against that table.
public protocol RPCMethod {
    associatedtype Params: JSONDecodable
    associatedtype Result: JSONEncodable
    /// The JSON-RPC method name, e.g. `"model/create"`.
    static var name: String { get }
}

/// A notification type the server accepts from clients.
public protocol RPCNotification {
    associatedtype Params: JSONDecodable
    static var name: String { get }
}

/// Where a handler runs. Cheap handlers run on the connection's reader thread (answers in
/// microseconds, in order); anything that computes runs on a thread of its own, so the connection
/// keeps answering while it works. A staged handler (``MethodTable/register(_:start:finish:)``) does both:
/// its effect on the reader thread, in message order, and its wait on a thread of its own.
public enum Execution: Sendable {
    case inline
    case background
    case staged
}

/// The dispatch table: method name → typed handler. Built once at start-up, then immutable.
public struct MethodTable: Sendable {
    struct Entry: Sendable {
        let execution: Execution
        /// Runs where `execution` says; for a staged method, the start (on the reader thread), which returns
        /// the finish to run on a thread of its own.
        let handle: @Sendable (JSON?, RequestContext) throws -> Stage
    }
    /// What a handler's first part produced: the answer, or (staged methods) the rest of the work.
    enum Stage: Sendable {
        case done(JSON)
        case then(@Sendable () throws -> JSON)
    }
    struct NotificationEntry: Sendable {
        let handle: @Sendable (JSON?, Connection) throws -> Void
    }

    private(set) var requests: [String: Entry] = [:]
    private(set) var notifications: [String: NotificationEntry] = [:]

    public init() {}

    /// Registers the handler of method `M`. Parameters are decoded into `M.Params` before the
    /// handler runs; a decoding failure answers -32602 with the field's path and what to fix.
    public mutating func register<M: RPCMethod>(
        _ method: M.Type, execution: Execution = .inline,
        _ handler: @escaping @Sendable (M.Params, RequestContext) throws -> M.Result
    ) {
        precondition(requests[M.name] == nil, "method \(M.name) registered twice")
        requests[M.name] = Entry(execution: execution) { params, context in
            let decoded = try M.Params(from: JSONReader(params, path: "params"))
            return .done(try handler(decoded, context).json)
        }
    }

    /// Registers method `M` in two stages: `start` runs on the reader thread, so its effect takes place in
    /// the order the messages came (a `run/pause` sent before a `run/resume` sets its stop point first);
    /// `finish` gets what `start` returned and runs on a thread of its own, where it may wait as long as it
    /// needs (cancellable like any background request). An error from either stage is the answer.
    public mutating func register<M: RPCMethod, Started: Sendable>(
        _ method: M.Type, start: @escaping @Sendable (M.Params, RequestContext) throws -> Started,
        finish: @escaping @Sendable (Started, RequestContext) throws -> M.Result
    ) {
        precondition(requests[M.name] == nil, "method \(M.name) registered twice")
        requests[M.name] = Entry(execution: .staged) { params, context in
            let started = try start(try M.Params(from: JSONReader(params, path: "params")), context)
            return .then { try finish(started, context).json }
        }
    }

    /// Registers the handler of a client-to-server notification.
    public mutating func register<N: RPCNotification>(
        _ notification: N.Type, _ handler: @escaping @Sendable (N.Params, Connection) throws -> Void
    ) {
        notifications[N.name] = NotificationEntry { params, connection in
            try handler(try N.Params(from: JSONReader(params, path: "params")), connection)
        }
    }

    /// The request methods served, sorted (lifecycle methods included by the connection).
    public var methodNames: [String] { requests.keys.sorted() }
    /// The client notifications handled, sorted.
    public var notificationNames: [String] { notifications.keys.sorted() }

    func entry(_ method: String) -> Entry? { requests[method] }
    func notificationEntry(_ method: String) -> NotificationEntry? { notifications[method] }
}
