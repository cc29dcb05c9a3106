import Foundation
import XCTest
@testable import SaddleJSON
@testable import SaddleRPC

final class ConnectionTests: XCTestCase {
    func testRequestsBeforeInitializeGetServerNotInitialized() {
        let h = Harness()
        h.request(1, "subtract", [3, 1])
        XCTAssertEqual(errorCode(h.next()), -32002)
        h.sendText(#"{"jsonrpc":"2.0","method":"initialized"}"#)
        XCTAssertEqual(h.drain(), [], "notifications before initialize are dropped")
        h.initialize()
        h.request(2, "subtract", [3, 1])
        XCTAssertEqual(h.next()?["result"], 2)
    }

    func testInitializeListsEveryServedMethod() {
        let h = Harness()
        h.request(1, "initialize", ["processId": .null, "capabilities": [:]])
        let result = h.next()?["result"]
        XCTAssertEqual(result?["serverInfo"]?["name"], "test")
        XCTAssertEqual(
            result?["capabilities"]?["methods"],
            ["get_data", "initialize", "shutdown", "subtract", "sum", "test/sleep"])
        h.request(2, "initialize", [:])
        XCTAssertEqual(errorCode(h.next()), -32600, "initialize may be sent once")
    }

    func testShutdownThenExitCodeZero() {
        let h = Harness()
        h.initialize()
        h.request(1, "shutdown")
        XCTAssertEqual(h.next(), ["jsonrpc": "2.0", "id": 1, "result": .null])
        h.request(2, "subtract", [1, 1])
        XCTAssertEqual(errorCode(h.next()), -32600, "requests after shutdown are invalid")
        h.sendText(#"{"jsonrpc":"2.0","method":"exit"}"#)
        XCTAssertEqual(h.exitCode.withLock { $0 }, 0)
    }

    func testExitWithoutShutdownIsCodeOne() {
        let h = Harness()
        h.initialize()
        h.sendText(#"{"jsonrpc":"2.0","method":"exit"}"#)
        XCTAssertEqual(h.exitCode.withLock { $0 }, 1)
        let other = Harness()
        other.connection.endOfInput()
        XCTAssertEqual(other.exitCode.withLock { $0 }, 1, "end of input without shutdown")
    }

    func testWrongParameterTypesGetInvalidParamsNamingTheField() {
        let h = Harness()
        h.initialize()
        h.request(1, "subtract", ["minuend": "ten", "subtrahend": 1])
        let answer = h.next()
        XCTAssertEqual(errorCode(answer), -32602)
        XCTAssertEqual(answer?["error"]?["message"], "`params.minuend` must be an integer, got the string \"ten\"")
        h.request(2, "test/sleep", ["ms": -1])
        XCTAssertEqual(errorCode(h.next()), -32602)
    }

    func testSlowRequestDoesNotHoldUpOthersAndAnswersComeOutOfOrder() {
        let h = Harness()
        h.initialize()
        h.request(1, "test/sleep", ["ms": 300])
        h.request(2, "subtract", [5, 2])
        let first = h.next()
        XCTAssertEqual(first?["id"], 2, "the quick request is answered while the slow one works")
        XCTAssertEqual(h.next(timeout: 3)?["id"], 1)
    }

    func testCancellationAnswers32800Promptly() {
        let h = Harness()
        h.initialize()
        h.request(7, "test/sleep", ["ms": 10_000])
        Thread.sleep(forTimeInterval: 0.02)
        let start = Date()
        h.sendText(#"{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":7}}"#)
        let answer = h.next()
        XCTAssertEqual(answer?["id"], 7)
        XCTAssertEqual(errorCode(answer), -32800)
        XCTAssertLessThan(Date().timeIntervalSince(start), 1.0, "generous bound: cancellation is answered at once")
        XCTAssertEqual(h.drain(wait: 0.1), [], "exactly one answer after cancellation")
        h.sendText(#"{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":99}}"#)
        XCTAssertEqual(h.drain(), [], "cancelling an unknown id is ignored")
    }

    func testDuplicateIdInFlightIsRejected() {
        let h = Harness()
        h.initialize()
        h.request(3, "test/sleep", ["ms": 200])
        h.request(3, "subtract", [1, 1])
        XCTAssertEqual(errorCode(h.next()), -32600)
        XCTAssertEqual(h.next(timeout: 3)?["result"], 200)
    }

    func testUnknownDollarNotificationsAreIgnoredAndDollarRequestsAreMethodNotFound() {
        let h = Harness()
        h.initialize()
        h.sendText(#"{"jsonrpc":"2.0","method":"$/setTrace","params":{"value":"off"}}"#)
        XCTAssertEqual(h.drain(), [])
        h.request(1, "$/unknown")
        XCTAssertEqual(errorCode(h.next()), -32601)
    }

    func testOversizedFrameGetsAnErrorAndTheConnectionStaysUsable() {
        let h = Harness(maxFrameBytes: 90)
        h.initialize()
        h.sendText(
            #"{"jsonrpc":"2.0","id":1,"method":"sum","params":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25]}"#
        )
        let answer = h.next()
        XCTAssertEqual(errorCode(answer), -32600)
        XCTAssertTrue(answer?["error"]?["message"]?.stringValue?.contains("--max-frame-size") ?? false)
        h.request(2, "sum", [1, 2])
        XCTAssertEqual(h.next()?["result"], 3)
    }

    func testTooDeepMessageIsRefused() {
        let h = Harness(maxDepth: 8)
        h.initialize()
        h.sendText(#"{"jsonrpc":"2.0","id":1,"method":"sum","params":[[[[[[[[[1]]]]]]]]]}"#)
        XCTAssertEqual(errorCode(h.next()), -32600)
    }

    func testMalformedHeaderGetsParseErrorAndServingContinues() {
        let h = Harness()
        h.initialize()
        h.sendRaw(Array("Content-Length: nope\r\n\r\n".utf8))
        XCTAssertEqual(errorCode(h.next()), -32700)
        h.request(5, "sum", [2, 2])
        XCTAssertEqual(h.next()?["result"], 4)
    }

    func testMessagesThatAreNotRequests() {
        let h = Harness()
        h.initialize()
        for text in [
            "42", #""x""#, #"{"jsonrpc":"1.0","id":1,"method":"sum"}"#, #"{"jsonrpc":"2.0","id":{"a":1},"method":"sum"}"#,
            #"{"jsonrpc":"2.0","id":1,"method":"sum","params":5}"#,
        ] {
            h.sendText(text)
            XCTAssertEqual(errorCode(h.next()), -32600, text)
        }
        h.sendText(#"{"jsonrpc":"2.0","id":1,"result":3}"#)
        XCTAssertEqual(h.drain(), [], "responses from the client are ignored")
    }

    func testProgressIsReportedForAWorkDoneToken() throws {
        var table = MethodTable()
        table.register(GetData.self, execution: .background) { _, context in
            context.progress(.begin, title: "work")
            context.progress(.report, percentage: 50)
            context.progress(.end)
            return .null
        }
        let sink = MemorySink()
        let connection = Connection(configuration: .init(serverName: "t", serverVersion: "1"), methods: table, sink: sink) { _ in
        }
        for message: JSON in [
            ["jsonrpc": "2.0", "id": 1, "method": "initialize", "params": [:]],
            ["jsonrpc": "2.0", "id": 2, "method": "get_data", "params": ["workDoneToken": "tok"]],
        ] {
            FrameEncoder.encode(try message.serialized()).withUnsafeBytes { connection.receive($0) }
        }
        Thread.sleep(forTimeInterval: 0.2)
        var decoder = FrameDecoder()
        var frames: [JSON] = []
        sink.take().withUnsafeBytes { decoder.feed($0) { if case .frame(let b) = $0 { frames.append(try! JSON.parse(b)) } } }
        let progress = frames.filter { $0["method"] == "$/progress" }
        XCTAssertEqual(progress.map { $0["params"]?["value"]?["kind"] }, ["begin", "report", "end"])
        XCTAssertEqual(progress[1]["params"]?["value"]?["percentage"], 50)
        XCTAssertEqual(progress[0]["params"]?["token"], "tok")
    }
}
