import XCTest
@testable import SaddleJSON
@testable import SaddleRPC

/// The example exchanges of the JSON-RPC 2.0 specification, section 7, as vectors.
final class SpecificationExampleTests: XCTestCase {
    private func exchange(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> [JSON] {
        let harness = Harness()
        harness.initialize()
        harness.sendText(text)
        return harness.drain()
    }

    func testPositionalAndNamedParameters() {
        XCTAssertEqual(
            exchange(#"{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}"#),
            [["jsonrpc": "2.0", "result": 19, "id": 1]])
        XCTAssertEqual(
            exchange(#"{"jsonrpc": "2.0", "method": "subtract", "params": [23, 42], "id": 2}"#),
            [["jsonrpc": "2.0", "result": -19, "id": 2]])
        XCTAssertEqual(
            exchange(#"{"jsonrpc": "2.0", "method": "subtract", "params": {"subtrahend": 23, "minuend": 42}, "id": 3}"#),
            [["jsonrpc": "2.0", "result": 19, "id": 3]])
        XCTAssertEqual(
            exchange(#"{"jsonrpc": "2.0", "method": "subtract", "params": {"minuend": 42, "subtrahend": 23}, "id": 4}"#),
            [["jsonrpc": "2.0", "result": 19, "id": 4]])
    }

    func testNotificationsGetNoAnswer() {
        XCTAssertEqual(exchange(#"{"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]}"#), [])
        XCTAssertEqual(exchange(#"{"jsonrpc": "2.0", "method": "foobar"}"#), [])
    }

    func testNonExistentMethod() {
        let answer = exchange(#"{"jsonrpc": "2.0", "method": "foobar", "id": "1"}"#)
        XCTAssertEqual(errorCode(answer.first), -32601)
        XCTAssertEqual(answer.first?["id"], "1")
    }

    func testInvalidJSON() {
        let answer = exchange(#"{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]"#)
        XCTAssertEqual(errorCode(answer.first), -32700)
        XCTAssertEqual(answer.first?["id"], .null)
    }

    func testInvalidRequestObject() {
        let answer = exchange(#"{"jsonrpc": "2.0", "method": 1, "params": "bar"}"#)
        XCTAssertEqual(errorCode(answer.first), -32600)
        XCTAssertEqual(answer.first?["id"], .null)
    }

    func testBatchWithInvalidJSON() {
        let answer = exchange(#"[{"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},{"jsonrpc": "2.0", "method""#)
        XCTAssertEqual(answer.count, 1)
        XCTAssertEqual(errorCode(answer.first), -32700)
    }

    func testEmptyArray() {
        let answer = exchange("[]")
        XCTAssertEqual(answer.count, 1)
        XCTAssertEqual(errorCode(answer.first), -32600)
        XCTAssertEqual(answer.first?["id"], .null)
    }

    func testInvalidBatchButNotEmpty() {
        let answer = exchange("[1]")
        guard case .array(let items)? = answer.first else { return XCTFail("\(answer)") }
        XCTAssertEqual(items.map(errorCode), [-32600])
    }

    func testInvalidBatch() {
        let answer = exchange("[1,2,3]")
        guard case .array(let items)? = answer.first else { return XCTFail("\(answer)") }
        XCTAssertEqual(items.map(errorCode), [-32600, -32600, -32600])
        XCTAssertEqual(items.map { $0["id"] }, [.null, .null, .null])
    }

    func testRPCCallBatch() {
        let answer = exchange(
            #"""
            [
                {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
                {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},
                {"jsonrpc": "2.0", "method": "subtract", "params": [42,23], "id": "2"},
                {"foo": "boo"},
                {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
                {"jsonrpc": "2.0", "method": "get_data", "id": "9"}
            ]
            """#)
        guard case .array(let items)? = answer.first else { return XCTFail("\(answer)") }
        XCTAssertEqual(items.count, 5)
        func item(_ id: JSON) -> JSON? { items.first { $0["id"] == id } }
        XCTAssertEqual(item("1")?["result"], 7)
        XCTAssertEqual(item("2")?["result"], 19)
        XCTAssertEqual(errorCode(item("5")), -32601)
        XCTAssertEqual(item("9")?["result"], ["hello", 5])
        XCTAssertEqual(errorCode(items.first { $0["id"] == .null }), -32600)
    }

    func testBatchOfNotificationsGetsNoAnswer() {
        XCTAssertEqual(
            exchange(
                #"[{"jsonrpc": "2.0", "method": "notify_sum", "params": [1,2,4]},{"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}]"#
            ), [])
    }
}
