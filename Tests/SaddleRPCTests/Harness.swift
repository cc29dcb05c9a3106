import Foundation
import Synchronization
import XCTest
@testable import SaddleJSON
@testable import SaddleRPC

/// Test-only methods, including the JSON-RPC 2.0 specification's examples (section 7).
enum Subtract: RPCMethod {
    static let name = "subtract"
    struct Params: JSONDecodable {
        var minuend: Int64, subtrahend: Int64
        init(from reader: JSONReader) throws(JSONShapeError) {
            if case .array(let a)? = reader.value, a.count == 2, let x = a[0].int64Value, let y = a[1].int64Value {
                (minuend, subtrahend) = (x, y)
            } else {
                minuend = Int64(try reader["minuend"].int())
                subtrahend = Int64(try reader["subtrahend"].int())
            }
        }
    }
    typealias Result = JSON
}
enum Sum: RPCMethod {
    static let name = "sum"
    typealias Params = JSON
    typealias Result = JSON
}
enum GetData: RPCMethod {
    static let name = "get_data"
    typealias Params = Empty
    typealias Result = JSON
}
enum Sleep: RPCMethod {
    static let name = "test/sleep"
    struct Params: JSONDecodable {
        var ms: Int
        init(from reader: JSONReader) throws(JSONShapeError) { ms = try reader["ms"].int(min: 0) }
    }
    typealias Result = JSON
}

/// A connection over memory: feed bytes in, read frames out.
final class Harness: @unchecked Sendable {
    let sink = MemorySink()
    let connection: Connection
    private var decoder = FrameDecoder()
    private var received: [JSON] = []
    let exitCode = ExitBox()

    init(maxFrameBytes: Int = 1 << 20, maxDepth: Int = 32) {
        var table = MethodTable()
        table.register(Subtract.self) { p, _ in .int(p.minuend - p.subtrahend) }
        table.register(Sum.self) { p, _ in .int(p.arrayValue?.compactMap(\.int64Value).reduce(0, +) ?? 0) }
        table.register(GetData.self) { _, _ in ["hello", 5] }
        table.register(Sleep.self, execution: .background) { p, context in
            let deadline = Date().addingTimeInterval(Double(p.ms) / 1000)
            while Date() < deadline {
                try context.checkCancelled()
                Thread.sleep(forTimeInterval: 0.002)
            }
            return .int(Int64(p.ms))
        }
        let exitCode = self.exitCode
        connection = Connection(
            configuration: .init(serverName: "test", serverVersion: "1", maxFrameBytes: maxFrameBytes, maxJSONDepth: maxDepth),
            methods: table, sink: sink, onExit: { code in exitCode.set(code) })
    }

    func sendRaw(_ bytes: [UInt8]) { bytes.withUnsafeBytes { connection.receive($0) } }
    func sendText(_ text: String) { sendRaw(FrameEncoder.encode(Array(text.utf8))) }
    func send(_ message: JSON) { sendRaw(FrameEncoder.encode(try! message.serialized())) }

    func request(_ id: Int64, _ method: String, _ params: JSON? = nil) {
        var m: [String: JSON] = ["jsonrpc": "2.0", "id": .int(id), "method": .string(method)]
        if let params { m["params"] = params }
        send(.object(m))
    }

    func initialize() {
        request(0, "initialize", ["capabilities": [:]])
        XCTAssertNotNil(next()?["result"]?["capabilities"])
    }

    /// Messages written so far (waiting up to `timeout` for at least `count`).
    func messages(atLeast count: Int = 1, timeout: TimeInterval = 2) -> [JSON] {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let bytes = sink.take()
            bytes.withUnsafeBytes { raw in
                decoder.feed(raw) { event in
                    if case .frame(let body) = event, let v = try? JSON.parse(body, maxDepth: 200) { received.append(v) }
                }
            }
            if received.count >= count || Date() > deadline {
                defer { received.removeAll() }
                return received
            }
            Thread.sleep(forTimeInterval: 0.001)
        }
    }

    func next(timeout: TimeInterval = 2) -> JSON? { messages(atLeast: 1, timeout: timeout).first }

    /// Waits briefly and returns whatever arrived (for asserting that nothing was sent).
    func drain(wait: TimeInterval = 0.05) -> [JSON] {
        Thread.sleep(forTimeInterval: wait)
        return messages(atLeast: Int.max, timeout: 0)
    }
}

func errorCode(_ message: JSON?) -> Int64? { message?["error"]?["code"]?.int64Value }

final class ExitBox: Sendable {
    private let code = Mutex<Int32?>(nil)
    func set(_ value: Int32) { code.withLock { $0 = value } }
    func withLock<R>(_ body: (Int32?) -> R) -> R { code.withLock { body($0) } }
}
