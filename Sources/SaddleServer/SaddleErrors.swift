import SaddleRPC

/// Saddle's own error codes, outside JSON-RPC's reserved range (−32768…−32000) and LSP's
/// (−32899…−32800). Each is listed in protocol/errors.md with its meaning.
extension ErrorCode {
    /// A named model, data set, run or direction does not exist.
    public static let notFound = ErrorCode(rawValue: -31001)
    /// A resource limit would be exceeded (frame size, parameters, data bytes, Lanczos memory, runs).
    public static let limitExceeded = ErrorCode(rawValue: -31002)
    /// The object is in the wrong state for the request (e.g. resuming a run that is not paused).
    public static let invalidState = ErrorCode(rawValue: -31003)
    /// A file could not be read or written, or its contents are malformed.
    public static let fileError = ErrorCode(rawValue: -31004)
    /// A computation produced non-finite values or failed numerically.
    public static let numericalError = ErrorCode(rawValue: -31005)
    /// The run store failed or is unusable (corrupt, newer schema).
    public static let storeError = ErrorCode(rawValue: -31006)
}

extension RPCError {
    public static func notFound(_ message: String) -> RPCError { RPCError(.notFound, message) }
    public static func limitExceeded(_ limit: String, value: Int, requested: Int, flag: String) -> RPCError {
        RPCError(
            .limitExceeded,
            "\(limit) limit is \(value), the request needs \(requested); raise it with \(flag) or ask for less",
            data: ["limit": .string(limit), "value": .int(Int64(value)), "requested": .int(Int64(requested))])
    }
    public static func invalidState(_ message: String) -> RPCError { RPCError(.invalidState, message) }
    public static func fileError(_ message: String) -> RPCError { RPCError(.fileError, message) }
    public static func numericalError(_ message: String) -> RPCError { RPCError(.numericalError, message) }
    public static func storeError(_ message: String) -> RPCError { RPCError(.storeError, message) }
}
