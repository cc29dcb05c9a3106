import Foundation
import Synchronization
import XCTest
@testable import SaddleJSON
@testable import SaddleRPC

/// Staged methods (`MethodTable.register(_:start:finish:)`): the start runs on the reader thread in message
/// order, the finish on a thread of its own.
final class StagedExecutionTests: XCTestCase {
    enum Mark: RPCMethod {
        static let name = "test/mark"
        struct Params: JSONDecodable {
            var tag: String
            var hold: Bool
            init(from reader: JSONReader) throws(JSONShapeError) {
                tag = try reader["tag"].string()
                hold = try reader["hold"].bool(default: false)
            }
        }
        typealias Result = JSON
    }
    /// What the handlers did, in the order they did it, and a gate that holds finishes until opened.
    final class Log: Sendable {
        let entries = Mutex<[String]>([])
        let open = Atomic<Bool>(false)
        /// Set by the committing handler once it has tried to commit.
        let committed = Atomic<Bool>(false)
        func add(_ entry: String) { entries.withLock { $0.append(entry) } }
        var all: [String] { entries.withLock { $0 } }
    }

    private func connection(_ log: Log, sink: MemorySink) -> Connection {
        var table = MethodTable()
        table.register(
            Mark.self,
            start: { p, _ in
                if p.tag == "refuse" { throw RPCError.invalidParams("refused at the start") }
                log.add("start \(p.tag)")
                return p
            },
            finish: { p, context in
                while p.hold && !log.open.load(ordering: .acquiring) {
                    try context.checkCancelled()
                    Thread.sleep(forTimeInterval: 0.001)
                }
                log.add("finish \(p.tag)")
                return .string(p.tag)
            })
        table.register(GetData.self) { _, _ in
            log.add("inline")
            return .null
        }
        return Connection(configuration: .init(serverName: "t", serverVersion: "1"), methods: table, sink: sink) { _ in }
    }

    private func send(_ connection: Connection, _ messages: [JSON]) {
        for message in messages {
            FrameEncoder.encode(try! message.serialized()).withUnsafeBytes { connection.receive($0) }
        }
    }

    private func answers(_ sink: MemorySink, count: Int, timeout: TimeInterval = 5) -> [Int64: JSON] {
        var decoder = FrameDecoder()
        var out: [Int64: JSON] = [:]
        let deadline = Date().addingTimeInterval(timeout)
        while out.count < count && Date() < deadline {
            sink.take().withUnsafeBytes {
                decoder.feed($0) { event in
                    guard case .frame(let body) = event, let m = try? JSON.parse(body), let id = m["id"]?.int64Value else {
                        return
                    }
                    out[id] = m
                }
            }
            Thread.sleep(forTimeInterval: 0.001)
        }
        return out
    }

    private func request(_ id: Int64, _ method: String, _ params: JSON) -> JSON {
        ["jsonrpc": "2.0", "id": .int(id), "method": .string(method), "params": params]
    }

    func testStartsTakeEffectInMessageOrderWhileFinishesWait() {
        let log = Log(), sink = MemorySink()
        let c = connection(log, sink: sink)
        send(c, [["jsonrpc": "2.0", "id": 0, "method": "initialize", "params": [:]]])
        // A held staged request, an inline one, another staged one: both starts have run, in order, by the time
        // `receive` returns, and the inline request is answered although the first finish still waits.
        send(
            c,
            [
                request(1, "test/mark", ["tag": "a", "hold": true]), request(2, "get_data", [:]),
                request(3, "test/mark", ["tag": "b"]),
            ])
        XCTAssertEqual(Array(log.all.prefix(3)), ["start a", "inline", "start b"])
        let early = answers(sink, count: 3)
        XCTAssertNotNil(early[2]?["result"], "the inline request is answered while a finish waits")
        XCTAssertEqual(early[3]?["result"], "b")
        XCTAssertNil(early[1], "the held finish has not answered")
        log.open.store(true, ordering: .releasing)
        XCTAssertEqual(answers(sink, count: 1)[1]?["result"], "a")
        XCTAssertEqual(log.all.last, "finish a")
    }

    func testStagedStartsKeepMessageOrderOverManyRounds() {
        // What staged methods exist for: a background handler's effect happens on a thread of its own and may
        // come after a later message's; a staged start's never does.
        let log = Log(), sink = MemorySink()
        let c = connection(log, sink: sink)
        send(c, [["jsonrpc": "2.0", "id": 0, "method": "initialize", "params": [:]]])
        for round in 0..<50 {
            send(
                c,
                [
                    request(Int64(10 + 2 * round), "test/mark", ["tag": .string("s\(round)")]),
                    request(Int64(11 + 2 * round), "get_data", [:]),
                ])
        }
        let starts = log.all.filter { $0.hasPrefix("start") || $0 == "inline" }
        XCTAssertEqual(starts, (0..<50).flatMap { ["start s\($0)", "inline"] })
        XCTAssertEqual(answers(sink, count: 101).count, 101)
    }

    func testAStartThatThrowsIsTheAnswerAndNothingIsLeftInFlight() {
        let log = Log(), sink = MemorySink()
        let c = connection(log, sink: sink)
        send(
            c,
            [
                ["jsonrpc": "2.0", "id": 0, "method": "initialize", "params": [:]],
                request(1, "test/mark", ["tag": "refuse"]), request(2, "test/mark", ["tag": 5]),
            ])
        let out = answers(sink, count: 3)
        XCTAssertEqual(errorCode(out[1]), -32602)
        XCTAssertEqual(out[1]?["error"]?["message"], "refused at the start")
        XCTAssertEqual(errorCode(out[2]), -32602, "params are decoded before the start runs")
        // The ids are free again: reusing one is not refused as a duplicate.
        send(c, [request(1, "test/mark", ["tag": "again"])])
        XCTAssertEqual(answers(sink, count: 1)[1]?["result"], "again")
    }

    func testAWaitingFinishIsCancellable() {
        let log = Log(), sink = MemorySink()
        let c = connection(log, sink: sink)
        send(
            c,
            [
                ["jsonrpc": "2.0", "id": 0, "method": "initialize", "params": [:]],
                request(1, "test/mark", ["tag": "held", "hold": true]),
            ])
        _ = answers(sink, count: 1)
        send(c, [["jsonrpc": "2.0", "method": "$/cancelRequest", "params": ["id": 1]]])
        XCTAssertEqual(errorCode(answers(sink, count: 1)[1]), -32800)
        XCTAssertFalse(log.all.contains("finish held"))
    }

    /// A background method that waits for the gate, then commits and reports whether the commit held.
    enum Commit: RPCMethod {
        static let name = "test/commit"
        typealias Params = Empty
        typealias Result = JSON
    }

    private func committingConnection(_ log: Log, sink: MemorySink) -> Connection {
        var table = MethodTable()
        table.register(Commit.self, execution: .background) { _, context in
            while !log.open.load(ordering: .acquiring) { Thread.sleep(forTimeInterval: 0.001) }
            let held = context.commit()
            log.add(held ? "committed" : "cancelled first")
            log.committed.store(true, ordering: .releasing)
            // Wait for the test's cancel after the commit before answering.
            while log.all.count < 2 { Thread.sleep(forTimeInterval: 0.001) }
            return .string(held ? "answer" : "undone")
        }
        return Connection(configuration: .init(serverName: "t", serverVersion: "1"), methods: table, sink: sink) { _ in }
    }

    func testACancelAfterTheCommitIsIgnoredAndTheAnswerStands() {
        let log = Log(), sink = MemorySink()
        let c = committingConnection(log, sink: sink)
        send(c, [["jsonrpc": "2.0", "id": 0, "method": "initialize", "params": [:]], request(1, "test/commit", [:])])
        _ = answers(sink, count: 1)
        log.open.store(true, ordering: .releasing)
        while !log.committed.load(ordering: .acquiring) { Thread.sleep(forTimeInterval: 0.001) }
        send(c, [["jsonrpc": "2.0", "method": "$/cancelRequest", "params": ["id": 1]]])
        log.add("cancel sent")
        let out = answers(sink, count: 1)
        XCTAssertEqual(out[1]?["result"], "answer", "the committed answer, not -32800")
        XCTAssertEqual(log.all.first, "committed")
        XCTAssertTrue(answers(sink, count: 1, timeout: 0.1).isEmpty, "one answer only")
    }

    func testACommitAfterTheCancelFailsAndOnlyTheCancellationIsAnswered() {
        let log = Log(), sink = MemorySink()
        let c = committingConnection(log, sink: sink)
        send(c, [["jsonrpc": "2.0", "id": 0, "method": "initialize", "params": [:]], request(1, "test/commit", [:])])
        _ = answers(sink, count: 1)
        send(c, [["jsonrpc": "2.0", "method": "$/cancelRequest", "params": ["id": 1]]])
        XCTAssertEqual(errorCode(answers(sink, count: 1)[1]), -32800)
        log.add("cancel answered")
        log.open.store(true, ordering: .releasing)
        while !log.committed.load(ordering: .acquiring) { Thread.sleep(forTimeInterval: 0.001) }
        XCTAssertEqual(log.all.last, "cancelled first")
        XCTAssertTrue(answers(sink, count: 1, timeout: 0.2).isEmpty, "the handler's late answer is not sent")
    }
}
