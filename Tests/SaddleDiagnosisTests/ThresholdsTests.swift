@testable import SaddleDiagnosis
import SaddleJSON
import XCTest

final class ThresholdsTests: XCTestCase {
    func testCatalogMatchesDefaultsAndJSON() throws {
        let defaults = Thresholds()
        XCTAssertEqual(Set(Thresholds.catalog.map(\.name)).count, Thresholds.catalog.count, "names are unique")
        for info in Thresholds.catalog {
            XCTAssertEqual(defaults[info.name], info.defaultValue, info.name)
            XCTAssertTrue(info.defaultValue >= info.minimum && info.defaultValue <= info.maximum, info.name)
        }
        // The catalog names exactly the stored properties, and each name reaches the property of that name: set
        // every threshold to a value of its own and read the properties back by reflection.
        let properties = Mirror(reflecting: defaults).children.compactMap(\.label)
        XCTAssertEqual(Set(properties), Set(Thresholds.catalog.map(\.name)))
        var distinct = Thresholds()
        for (i, info) in Thresholds.catalog.enumerated() {
            XCTAssertTrue(distinct.set(info.name, to: info.isInteger ? Double(100 + i) : info.minimum + 1e-3 * Double(i + 1)))
        }
        for (i, info) in Thresholds.catalog.enumerated() {
            let expected = info.isInteger ? Double(100 + i) : info.minimum + 1e-3 * Double(i + 1)
            let stored = Mirror(reflecting: distinct).children.first { $0.label == info.name }?.value
            let value = (stored as? Double) ?? (stored as? Int).map(Double.init)
            XCTAssertEqual(value, expected, info.name)
            XCTAssertEqual(distinct[info.name], expected, info.name)
        }
        XCTAssertFalse(distinct.set("noSuchThreshold", to: 1))
        XCTAssertNil(distinct["noSuchThreshold"])
        // Writing and reading back gives the same thresholds.
        XCTAssertEqual(try Thresholds(from: JSONReader(defaults.json)), defaults)
        XCTAssertEqual(try Thresholds(from: JSONReader(nil)), defaults)
    }

    func testUnknownNameIsRejectedWithTheValidNames() throws {
        let json = try JSON.parse(#"{"plateauWindow": 100, "flatness": 0.1}"#)
        XCTAssertThrowsError(try Thresholds(from: JSONReader(json, path: "params.thresholds"))) { error in
            let message = (error as? JSONShapeError)?.description ?? ""
            XCTAssertTrue(
                message.hasPrefix("`params.thresholds.flatness` is not a known field; expected one of: "),
                message)
            for info in Thresholds.catalog { XCTAssertTrue(message.contains(info.name), info.name) }
        }
    }

    func testBadValuesAreRejected() throws {
        for text in [
            #"{"plateauWindow": 2.5}"#, #"{"deadFraction": 2}"#, #"{"cosineNoise": "NaN"}"#,
            #"{"earlyWindow": 0}"#, #"{"edgeOfStability": "x"}"#,
        ] {
            XCTAssertThrowsError(try Thresholds(from: JSONReader(try JSON.parse(text))), text)
        }
        let ok = try Thresholds(from: JSONReader(try JSON.parse(#"{"plateauWindow": 100, "dataWaitShare": 0.8}"#)))
        XCTAssertEqual(ok.plateauWindow, 100)
        XCTAssertEqual(ok.dataWaitShare, 0.8)
        XCTAssertEqual(ok.labelEntropy, Thresholds().labelEntropy, "others keep their defaults")
    }

    /// Overrides change verdicts the way their meaning says.
    func testOverridesChangeVerdicts() throws {
        // A 70 % data-wait share is a stall at the default 0.5, not at 0.8.
        var history = HistoryTests.series(40, loss: { exp(-0.01 * Double($0)) }, grad: { _ in 1 })
        for i in history.indices {
            history[i].dataWait = 0.7
            history[i].compute = 0.3
        }
        let strict = try Thresholds(from: JSONReader(try JSON.parse(#"{"dataWaitShare": 0.8}"#)))
        XCTAssertEqual(Diagnoser.diagnose(Evidence(history: history)).verdict, .dataPipelineStall)
        XCTAssertEqual(Diagnoser.diagnose(Evidence(history: history), thresholds: strict).verdict, .progressing)

        // Scenario d (‖g‖ = 1.354, λ_min = −2.32): progressing by default; if a gradient up to 2·max(1,|f|)
        // counts as small, its clearly negative λ_min makes it a saddle.
        let d = Evidence(
            gradNorm: 1.3538467550793842, loss: 0.5782405363222873, lambdaMax: 11.678193358869734,
            lambdaMin: -2.324153867327671)
        XCTAssertEqual(Diagnoser.diagnose(d).verdict, .progressing)
        let loose = try Thresholds(from: JSONReader(try JSON.parse(#"{"smallGradientAbsolute": 2}"#)))
        XCTAssertEqual(Diagnoser.diagnose(d, thresholds: loose).verdict, .saddle)

        // λ_min = −1e-3 against λ_max = 1: clearly negative at tol 1e-4, not at tol 1e-2.
        let shallow = Evidence(gradNorm: 0, loss: 1, lambdaMax: 1, lambdaMin: -1e-3)
        XCTAssertEqual(Diagnoser.diagnose(shallow).verdict, .saddle)
        let tolerant = try Thresholds(from: JSONReader(try JSON.parse(#"{"negativeCurvature": 0.01}"#)))
        XCTAssertEqual(Diagnoser.diagnose(shallow, thresholds: tolerant).verdict, .localMinimum)
    }
}
