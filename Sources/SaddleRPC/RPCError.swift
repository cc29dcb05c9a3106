import SaddleJSON

/// A JSON-RPC error code. JSON-RPC 2.0's and LSP's codes are listed here; Saddle's own codes
/// (in the server module) lie outside both reserved ranges (−32768…−32000 and −32899…−32800).
public struct ErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// Invalid JSON was received.
    public static let parseError = ErrorCode(rawValue: -32700)
    /// The JSON sent is not a valid request object.
    public static let invalidRequest = ErrorCode(rawValue: -32600)
    /// The method does not exist or is not available.
    public static let methodNotFound = ErrorCode(rawValue: -32601)
    /// Invalid method parameters.
    public static let invalidParams = ErrorCode(rawValue: -32602)
    /// Internal error.
    public static let internalError = ErrorCode(rawValue: -32603)
    /// LSP: a request arrived before `initialize`.
    public static let serverNotInitialized = ErrorCode(rawValue: -32002)
    /// LSP: the request was cancelled by `$/cancelRequest`.
    public static let requestCancelled = ErrorCode(rawValue: -32800)

    public var description: String { "\(rawValue)" }
}

/// An error answer: the `error` member of a JSON-RPC response. Errors are data: handlers throw
/// these, and the connection writes them.
public struct RPCError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: ErrorCode
    /// What failed and what to fix.
    public var message: String
    public var data: JSON?

    public init(_ code: ErrorCode, _ message: String, data: JSON? = nil) {
        self.code = code
        self.message = message
        self.data = data
    }

    public static func parseError(_ message: String) -> RPCError { RPCError(.parseError, message) }
    public static func invalidRequest(_ message: String) -> RPCError { RPCError(.invalidRequest, message) }
    public static func methodNotFound(_ method: String) -> RPCError {
        RPCError(.methodNotFound, "method \"\(method)\" is not served by saddled; `initialize` lists the methods it serves")
    }
    public static func invalidParams(_ message: String) -> RPCError { RPCError(.invalidParams, message) }
    public static func internalError(_ message: String) -> RPCError { RPCError(.internalError, message) }
    public static let serverNotInitialized = RPCError(
        .serverNotInitialized, "server not initialized: send the initialize request first")
    public static let requestCancelled = RPCError(.requestCancelled, "request cancelled by $/cancelRequest")

    public var json: JSON {
        var members: [String: JSON] = ["code": .int(code.rawValue), "message": .string(message)]
        if let data { members["data"] = data }
        return .object(members)
    }

    public var description: String { "\(code.rawValue): \(message)" }
}

extension RPCError {
    /// Maps any error a handler throws to the error answer the client sees.
    public init(from error: any Error) {
        switch error {
        case let rpc as RPCError: self = rpc
        case let shape as JSONShapeError: self = .invalidParams(shape.description)
        case is CancellationError: self = .requestCancelled
        case let json as JSONError: self = .internalError("could not encode the result: \(json)")
        default: self = .internalError("\(error)")
        }
    }
}
