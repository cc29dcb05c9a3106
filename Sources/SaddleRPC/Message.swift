import SaddleJSON

/// A request id: JSON-RPC allows numbers and strings (LSP: `integer | string`).
public enum RequestID: Hashable, Sendable, CustomStringConvertible {
    case int(Int64)
    case string(String)

    public var json: JSON {
        switch self {
        case .int(let i): return .int(i)
        case .string(let s): return .string(s)
        }
    }

    /// Reads an id; `nil` for anything that is not an integer or a string.
    public init?(json: JSON) {
        switch json {
        case .int(let i): self = .int(i)
        case .string(let s): self = .string(s)
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .int(let i): return "\(i)"
        case .string(let s): return "\"\(s)\""
        }
    }
}

/// One incoming JSON-RPC message, classified. Pure: no I/O.
public enum IncomingMessage: Sendable, Equatable {
    case request(id: RequestID, method: String, params: JSON?)
    case notification(method: String, params: JSON?)
    /// A response to a request the server sent (Saddle sends none that expect answers; ignored).
    case response(id: JSON)
    /// Not a valid request; `id` is the request's id when it could be read (else null in the answer).
    case invalid(id: RequestID?, reason: String)

    /// Classifies one message object of a (possibly batched) JSON-RPC text.
    public static func classify(_ value: JSON) -> IncomingMessage {
        guard case .object(let members) = value else {
            return .invalid(id: nil, reason: "a JSON-RPC message must be an object, got \(value.kindDescription)")
        }
        let idValue = members["id"]
        let id = idValue.flatMap(RequestID.init(json:))
        guard members["jsonrpc"] == .string("2.0") else {
            return .invalid(
                id: id, reason: "`jsonrpc` must be exactly \"2.0\", got \(members["jsonrpc"]?.kindDescription ?? "nothing")")
        }
        guard let methodValue = members["method"] else {
            if members["result"] != nil || members["error"] != nil, let idValue { return .response(id: idValue) }
            return .invalid(id: id, reason: "a request needs a `method` string")
        }
        guard case .string(let method) = methodValue else {
            return .invalid(id: id, reason: "`method` must be a string, got \(methodValue.kindDescription)")
        }
        let params = members["params"]
        if let params {
            switch params {
            case .object, .array: break
            default:
                return .invalid(id: id, reason: "`params` must be an object or an array, got \(params.kindDescription)")
            }
        }
        guard let idValue else { return .notification(method: method, params: params) }
        guard let id else {
            return .invalid(id: nil, reason: "`id` must be an integer or a string, got \(idValue.kindDescription)")
        }
        return .request(id: id, method: method, params: params)
    }
}

/// Builders for outgoing messages.
public enum OutgoingMessage {
    public static func response(id: RequestID?, result: JSON) -> JSON {
        .object(["jsonrpc": "2.0", "id": id?.json ?? .null, "result": result])
    }
    public static func error(id: RequestID?, _ error: RPCError) -> JSON {
        .object(["jsonrpc": "2.0", "id": id?.json ?? .null, "error": error.json])
    }
    public static func notification(method: String, params: JSON) -> JSON {
        .object(["jsonrpc": "2.0", "method": .string(method), "params": params])
    }
}
