import XCTest
@testable import SaddleJSON

final class JSONRoundTripTests: XCTestCase {
    func testScalarsParseToTheirKinds() throws {
        XCTAssertEqual(try JSON.parse("42"), .int(42))
        XCTAssertEqual(try JSON.parse("4.5"), .double(4.5))
        XCTAssertEqual(try JSON.parse("true"), .bool(true))
        XCTAssertEqual(try JSON.parse("null"), .null)
        XCTAssertEqual(try JSON.parse("\"h\\u00e9\""), .string("hé"))
        XCTAssertEqual(try JSON.parse("\"a\\u0000b\""), .string("a\u{0}b"), "NUL inside strings is allowed")
    }

    func testIntegersUpToTwoToThe53RoundTripExactly() throws {
        for value: Int64 in [0, 1, -1, 1 << 53, -(1 << 53), (1 << 53) - 1, Int64.max, Int64.min] {
            let text = try JSON.int(value).serializedString()
            XCTAssertEqual(text, "\(value)")
            XCTAssertEqual(try JSON.parse(text), .int(value))
        }
    }

    func testDoublesRoundTripBitForBit() throws {
        var rng = SystemRandomNumberGenerator()
        var values: [Double] = [0.1, 1.0 / 3.0, 1e-300, .leastNonzeroMagnitude, 1.7976931348623157e308, -2.5, 123456789.125]
        for _ in 0..<500 { values.append(Double(bitPattern: rng.next() & 0x7FEF_FFFF_FFFF_FFFF)) }
        for value in values where value.isFinite {
            let parsed = try JSON.parse(JSON.double(value).serializedString())
            XCTAssertEqual(parsed.doubleValue?.bitPattern, value.bitPattern, "\(value)")
        }
    }

    func testNonFiniteNumbersCannotBeWritten() {
        for value in [Double.nan, .infinity, -.infinity] {
            let message: JSON = ["result": ["values": [1.0, .double(value)]]]
            XCTAssertThrowsError(try message.serialized()) { error in
                XCTAssertEqual(error as? JSONError, .nonFinite(path: "$.result.values[1]"))
            }
        }
        XCTAssertEqual(JSON.number(.nan), .string("NaN"))
        XCTAssertEqual(JSON.number(-.infinity), .string("-Infinity"))
        XCTAssertEqual(JSON.string("Infinity").doubleValue, .infinity)
    }

    func testDuplicateKeysAreRejected() {
        XCTAssertThrowsError(try JSON.parse(#"{"a":1,"a":2}"#)) { error in
            guard case .syntax(let message, _, _, _) = error as? JSONError else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("duplicate"), message)
        }
    }

    func testInvalidUTF8IsRejected() {
        let bytes: [UInt8] = Array("\"ab".utf8) + [0xC3, 0x28] + Array("\"".utf8)
        XCTAssertThrowsError(try JSON.parse(bytes))
        XCTAssertThrowsError(try JSON.parse([0xFF, 0xFE]))
    }

    func testNestingDepthIsBounded() throws {
        let deep = String(repeating: "[", count: 40) + String(repeating: "]", count: 40)
        XCTAssertNoThrow(try JSON.parse(deep, maxDepth: 40))
        XCTAssertThrowsError(try JSON.parse(deep, maxDepth: 39)) { error in
            XCTAssertEqual(error as? JSONError, .tooDeep(limit: 39))
        }
        var value = JSON.int(1)
        for _ in 0..<10 { value = .array([value]) }
        XCTAssertThrowsError(try value.serialized(maxDepth: 5))
        XCTAssertNoThrow(try value.serialized(maxDepth: 10))
    }

    func testSyntaxErrorsSayWhere() {
        XCTAssertThrowsError(try JSON.parse("{\"a\": }")) { error in
            guard case .syntax(_, let line, let column, _) = error as? JSONError else { return XCTFail("\(error)") }
            XCTAssertEqual(line, 1)
            XCTAssertGreaterThan(column, 0)
        }
        XCTAssertThrowsError(try JSON.parse(""))
        XCTAssertThrowsError(try JSON.parse("[1,]"))
    }

    func testObjectsSerializeWithSortedKeysCompactly() throws {
        let value: JSON = ["b": 1, "a": ["x", true, .null], "c": ["d": 2.5]]
        XCTAssertEqual(try value.serializedString(), #"{"a":["x",true,null],"b":1,"c":{"d":2.5}}"#)
        XCTAssertEqual(try JSON.parse(value.serializedString()), value)
    }
}
