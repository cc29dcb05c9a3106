import XCTest
@testable import SaddleJSON

final class JSONReaderTests: XCTestCase {
    private let params: JSON = ["layers": [["units": 16], ["units": -3], ["units": "x"]], "lr": 0.1, "name": "m"]

    func testErrorsNameThePathAndWhatToFix() {
        let reader = JSONReader(params)
        XCTAssertThrowsError(try reader["layers"].array()[1]["units"].int(min: 1)) { error in
            XCTAssertEqual("\(error)", "`params.layers[1].units` must be a positive integer, got -3")
        }
        XCTAssertThrowsError(try reader["layers"].array()[2]["units"].int()) { error in
            XCTAssertEqual("\(error)", "`params.layers[2].units` must be an integer, got the string \"x\"")
        }
        XCTAssertThrowsError(try reader["steps"].int()) { error in
            XCTAssertEqual("\(error)", "`params.steps` is required: give an integer")
        }
        XCTAssertThrowsError(try reader["name"].oneOf(["a", "b"])) { error in
            XCTAssertEqual("\(error)", "`params.name` must be one of \"a\", \"b\", got \"m\"")
        }
        XCTAssertThrowsError(try reader.object(allowing: ["layers", "lr"])) { error in
            XCTAssertTrue("\(error)".hasPrefix("`params.name` is not a known field"), "\(error)")
        }
    }

    func testReadsValuesAndDefaults() throws {
        let reader = JSONReader(params)
        XCTAssertEqual(try reader["layers"].array()[0]["units"].int(min: 1), 16)
        XCTAssertEqual(try reader["lr"].double(min: 0), 0.1)
        XCTAssertEqual(try reader["momentum"].double(default: 0.9), 0.9)
        XCTAssertNil(try reader["seed"].optionalInt())
        XCTAssertEqual(
            try JSONReader(.int(3))
                .double(), 3, "an integer is accepted where a number is expected")
        XCTAssertThrowsError(try JSONReader(.string("NaN")).double())
        XCTAssertTrue(try JSONReader(.string("NaN")).double(finite: false).isNaN)
    }
}
