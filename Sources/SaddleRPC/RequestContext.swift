import SaddleJSON
import Synchronization

/// Set when a request is cancelled; long work checks it between units of work.
public final class CancellationToken: Sendable {
    private let flag = Atomic<Bool>(false)
    public init() {}
    public var isCancelled: Bool { flag.load(ordering: .relaxed) }
    public func cancel() { flag.store(true, ordering: .relaxed) }
    /// Throws ``RPCError/requestCancelled`` once cancelled.
    public func check() throws(RPCError) {
        if isCancelled { throw RPCError.requestCancelled }
    }
}

/// What a handler knows about the request it serves, and how it talks back while working.
public struct RequestContext: Sendable {
    public let id: RequestID
    public let method: String
    public let cancellation: CancellationToken
    /// The `workDoneToken` the client put in the parameters, if any (LSP work-done progress).
    public let workDoneToken: JSON?
    public let connection: Connection

    /// Throws ``RPCError/requestCancelled`` if the client cancelled this request.
    public func checkCancelled() throws(RPCError) { try cancellation.check() }

    /// For a handler whose work has an effect the client must learn of (a run it paused): commits the request to
    /// the answer the handler is about to return, so that a `$/cancelRequest` arriving from now on is ignored.
    /// False when the request was cancelled first: the client already has -32800, so the handler must undo the
    /// effect rather than answer.
    public func commit() -> Bool { connection.commit(id, token: cancellation) }

    /// Sends `$/progress` for this request's work-done token; does nothing without a token.
    /// `kind` is `begin`, `report` or `end`, as in LSP; `percentage` is 0…100.
    public func progress(_ kind: ProgressKind, title: String? = nil, message: String? = nil, percentage: Double? = nil) {
        guard let token = workDoneToken else { return }
        var value: [String: JSON] = ["kind": .string(kind.rawValue)]
        if let title, kind == .begin { value["title"] = .string(title) }
        if let message { value["message"] = .string(message) }
        if let percentage, kind != .end { value["percentage"] = .int(Int64(max(0, min(100, percentage.rounded())))) }
        if kind == .begin { value["cancellable"] = true }
        connection.notify("$/progress", params: ["token": token, "value": .object(value)])
    }
}

/// The kinds of LSP work-done progress notifications.
public enum ProgressKind: String, Sendable {
    case begin, report, end
}
