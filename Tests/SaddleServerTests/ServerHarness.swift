import Foundation
import XCTest
@testable import SaddleJSON
@testable import SaddleRPC
@testable import SaddleServer

/// A real `Server` behind a real `Connection`, over memory: requests in, answers and notifications out.
final class ServerHarness: @unchecked Sendable {
    let server: Server
    let connection: Connection
    private let sink = MemorySink()
    private var decoder = FrameDecoder()
    private var nextID: Int64 = 1
    private var answers: [Int64: JSON] = [:]
    /// Notifications received so far, in order.
    private(set) var notifications: [JSON] = []

    /// 2-8-1 tanh network with binary cross-entropy: XOR is learnable by it, and fast (microseconds per step).
    static let xorSpec: JSON = [
        "input": 2, "layers": [["kind": "dense", "units": 8, "activation": "tanh"], ["kind": "dense", "units": 1]],
        "loss": "binaryCrossEntropy", "seed": 1,
    ]

    init(configuration: ServerConfiguration = ServerConfiguration()) {
        server = Server(configuration: configuration)
        connection = server.makeConnection(sink: sink) { _ in }
        let result = try? call("initialize", ["capabilities": [:]])
        precondition(result?["capabilities"] != nil, "initialize failed")
    }

    private func pump() {
        let bytes = sink.take()
        bytes.withUnsafeBytes { raw in
            decoder.feed(raw) { event in
                guard case .frame(let body) = event, let message = try? JSON.parse(body, maxDepth: 512) else { return }
                if message["method"] != nil {
                    notifications.append(message)
                } else if let id = message["id"]?.int64Value {
                    answers[id] = message
                }
            }
        }
    }

    /// Sends a request and returns its raw answer (waiting for background methods).
    func answer(_ method: String, _ params: JSON? = nil, timeout: TimeInterval = 60) -> JSON {
        let id = nextID
        nextID += 1
        var message: [String: JSON] = ["jsonrpc": "2.0", "id": .int(id), "method": .string(method)]
        if let params { message["params"] = params }
        FrameEncoder.encode(try! JSON.object(message).serialized()).withUnsafeBytes { connection.receive($0) }
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            pump()
            if let answer = answers.removeValue(forKey: id) { return answer }
            Thread.sleep(forTimeInterval: 0.001)
        }
        XCTFail("no answer to \(method) within \(timeout) s")
        return .null
    }

    /// The result of a request; throws the error answer as an `RPCError`.
    @discardableResult
    func call(_ method: String, _ params: JSON? = nil, timeout: TimeInterval = 60) throws -> JSON {
        let answer = answer(method, params, timeout: timeout)
        if let error = answer["error"] {
            throw RPCError(ErrorCode(rawValue: Int(error["code"]?.int64Value ?? 0)), error["message"]?.stringValue ?? "")
        }
        return answer["result"] ?? .null
    }

    /// The error code of a request that must fail.
    func errorCode(_ method: String, _ params: JSON? = nil) -> Int? {
        answer(method, params)["error"]?["code"]?.int64Value.map { Int($0) }
    }

    /// Notifications named `method` received so far (after waiting `wait` seconds for more).
    /// Waits for run `run`'s `run/finished` notification and returns its params (nil, and a test failure, when
    /// none came within `timeout` seconds).
    func finished(_ run: String, timeout: Double = 30) -> JSON? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let n = notifications("run/finished").first(where: { $0["params"]?["run"]?.stringValue == run }) {
                return n["params"]
            }
            Thread.sleep(forTimeInterval: 0.005)
        }
        XCTFail("no run/finished for \(run) within \(timeout) s")
        return nil
    }

    func notifications(_ method: String, wait: TimeInterval = 0) -> [JSON] {
        if wait > 0 { Thread.sleep(forTimeInterval: wait) }
        pump()
        return notifications.filter { $0["method"]?.stringValue == method }
    }
}

/// Requests left in flight while others are made (e.g. a `run/pause` with `atStep`).
extension ServerHarness {
    /// Sends a request without waiting; returns its id for ``waitForAnswer(_:timeout:)`` and ``cancel(_:)``.
    func send(_ method: String, _ params: JSON? = nil) -> Int64 {
        let id = nextID
        nextID += 1
        var message: [String: JSON] = ["jsonrpc": "2.0", "id": .int(id), "method": .string(method)]
        if let params { message["params"] = params }
        FrameEncoder.encode(try! JSON.object(message).serialized()).withUnsafeBytes { connection.receive($0) }
        return id
    }

    /// The answer to request `id` if it has come (without waiting).
    func answerIfArrived(_ id: Int64) -> JSON? {
        pump()
        return answers.removeValue(forKey: id)
    }

    /// Waits for the answer to request `id`.
    func waitForAnswer(_ id: Int64, timeout: TimeInterval = 60) -> JSON {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let answer = answerIfArrived(id) { return answer }
            Thread.sleep(forTimeInterval: 0.001)
        }
        XCTFail("no answer to request \(id) within \(timeout) s")
        return .null
    }

    /// Sends `$/cancelRequest` for request `id`.
    func cancel(_ id: Int64) {
        let message: JSON = ["jsonrpc": "2.0", "method": "$/cancelRequest", "params": ["id": .int(id)]]
        FrameEncoder.encode(try! message.serialized()).withUnsafeBytes { connection.receive($0) }
    }
}
