import CZlib
import Foundation
import SaddleMath
import SaddleTestSupport
import XCTest
@testable import SaddleModels

/// Loaders against the ground-truth scenarios (values pinned from numpy 2.4) and against small
/// files written here, including every refusal path with the content of its message.
final class DatasetLoadingTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("saddle-dataset-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    // MARK: Fixtures

    private func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    @discardableResult
    private func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        try Data(bytes).write(to: URL(fileURLWithPath: path(name)))
        return path(name)
    }

    /// A .npy file as numpy writes it: magic, version, little-endian header length, the dict
    /// literal padded with spaces to a multiple of 64 and ended by a newline, then the data.
    private func npy(descr: String, shape: String, fortran: Bool = false, version: UInt8 = 1, data: [UInt8]) -> [UInt8] {
        var header = "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shape), }"
        let prefix = version == 1 ? 10 : 12
        while (prefix + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [version, 0]
        let length = header.utf8.count
        bytes +=
            version == 1
            ? [UInt8(length & 0xFF), UInt8(length >> 8)]
            : [UInt8(length & 0xFF), UInt8((length >> 8) & 0xFF), 0, 0]
        return bytes + Array(header.utf8) + data
    }

    private func le<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        values.flatMap { v in (0..<MemoryLayout<T>.size).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
    }
    private func f8(_ values: [Double]) -> [UInt8] { le(values.map(\.bitPattern)) }
    private func f4(_ values: [Float]) -> [UInt8] { le(values.map(\.bitPattern)) }

    private func gzip(_ bytes: [UInt8], to name: String) -> String {
        let p = path(name)
        guard let gz = gzopen(p, "wb") else { XCTFail("gzopen failed"); return p }
        _ = bytes.withUnsafeBytes { gzwrite(gz, $0.baseAddress, UInt32($0.count)) }
        gzclose(gz)
        return p
    }

    /// Asserts that `body` throws a DatasetError of `kind` whose message contains every fragment.
    private func assertRefuses(
        _ kind: DatasetError.Kind, _ fragments: [String], file: StaticString = #filePath, line: UInt = #line,
        _ body: () throws -> Void
    ) {
        do {
            try body()
            XCTFail("expected a \(kind) error", file: file, line: line)
        } catch {
            guard let error = error as? DatasetError else {
                return XCTFail("expected DatasetError, got \(error)", file: file, line: line)
            }
            XCTAssertEqual(error.kind, kind, error.message, file: file, line: line)
            for fragment in fragments {
                XCTAssertTrue(
                    error.message.contains(fragment), "message \"\(error.message)\" lacks \"\(fragment)\"", file: file, line: line
                )
            }
        }
    }

    // MARK: Scenarios

    /// The shared locator: `$SADDLE_SCENARIOS`, else `<repo>/../shared/scenarios`.
    private var scenarios: URL { Scenarios.root }

    /// Every scenario's x.npy/y.npy, with shapes, the first inputs, the last row and the sums
    /// pinned from numpy. Tolerance: exact for single values (the bytes are the values); 1e-12
    /// for sums (summation order differs from numpy's pairwise sum by a few ulps).
    func testLoadsEveryScenario() throws {
        struct Expected {
            let samples: Int, width: Int, first: [Double], lastRow: [Double], inputSum: Double
            let targetSum: Double, classCounts: [Int]?
        }
        let linear2 = Expected(
            samples: 16, width: 1, first: [-0.7901524999630146, -2.0346254818318728, 0.6033017469247647],
            lastRow: [-1.7285187058460105], inputSum: -1.2988844883584163, targetSum: -2.310541429976941, classCounts: nil)
        let deep3 = Expected(
            samples: 24, width: 2, first: [1.8117203538153117, -0.7290535593099604, -1.085626486216842],
            lastRow: [-2.0191241562791005, 0.39333926410180386], inputSum: 4.398489329064416,
            targetSum: -2.5470184688415882, classCounts: nil)
        let expected: [String: Expected] = [
            "a1_linear2_origin_saddle": linear2, "b1_linear2_global_min": linear2,
            "a2_deeplinear3_zero": deep3, "b2_deeplinear3_global_min": deep3,
            "c_logreg_converged": Expected(
                samples: 200, width: 5, first: [-0.76808429745681, -0.4463553118383933, -0.8744560690443673],
                lastRow: [
                    -0.5342778262086528, 0.08156157985781501, 0.5035441776631995, 0.7852862645546194, -0.13241355868036528,
                ],
                inputSum: -0.5801449426043757, targetSum: 121, classCounts: [79, 121]),
            "d_xor_mlp_2_16_16_1_tanh_init": Expected(
                samples: 4, width: 2, first: [0, 0, 0], lastRow: [1, 1], inputSum: 4,
                targetSum: 2, classCounts: nil),
        ]
        let folders = try Scenarios.names
            .filter { FileManager.default.fileExists(atPath: scenarios.appendingPathComponent("\($0)/x.npy").path) }
        XCTAssertEqual(Set(folders), Set(expected.keys), "scenarios at \(scenarios.path)")
        for folder in folders.sorted() {
            guard let e = expected[folder] else { continue }
            let base = scenarios.appendingPathComponent(folder)
            let d = try Dataset.loadNPY(
                inputs: base.appendingPathComponent("x.npy").path, targets: base.appendingPathComponent("y.npy").path)
            XCTAssertEqual(d.name, "\(folder)/x")
            XCTAssertEqual(d.sampleCount, e.samples, folder)
            XCTAssertEqual(d.inputWidth, e.width, folder)
            XCTAssertEqual(Array(d.inputs.prefix(3)), e.first, folder)
            XCTAssertEqual(Array(d.inputs.suffix(e.width)), e.lastRow, folder)
            XCTAssertEqual(d.inputs.reduce(0, +), e.inputSum, accuracy: 1e-12, folder)
            XCTAssertTrue(d.provenance.contains("<f8"), d.provenance)
            switch d.targets {
            case .regression(let y, let width):
                XCTAssertNil(e.classCounts, folder)
                XCTAssertEqual(width, 1, folder)
                XCTAssertEqual(y.count, e.samples, folder)
                XCTAssertEqual(y.reduce(0, +), e.targetSum, accuracy: 1e-12, folder)
            case .classes(let labels, let classCount):
                XCTAssertEqual(classCount, 2, folder)
                XCTAssertEqual(Array(labels.prefix(3)), [0, 1, 1], folder)
                XCTAssertEqual([labels.filter { $0 == 0 }.count, labels.filter { $0 == 1 }.count], e.classCounts, folder)
            }
        }
    }

    // MARK: .npy

    func testNPYReadsEveryDtypeAndHeaderVersion() throws {
        let a = try NPY.parse(npy(descr: "<f4", shape: "(2, 2)", data: f4([1.5, -2, 0.25, 3e38])), file: "a.npy")
        XCTAssertEqual(a.shape, [2, 2])
        XCTAssertEqual(a.element, .float32)
        XCTAssertEqual(a.doubles, [1.5, -2, 0.25, Double(Float(3e38))])
        let b = try NPY.parse(npy(descr: "<i8", shape: "(3,)", version: 2, data: le([Int64(-1), 5, 1 << 40])), file: "b.npy")
        XCTAssertEqual(b.shape, [3])
        XCTAssertEqual(b.values, .integer([-1, 5, 1 << 40]))
        let c = try NPY.parse(npy(descr: "<i4", shape: "(1, 2)", version: 3, data: le([Int32(-7), 9])), file: "c.npy")
        XCTAssertEqual(c.values, .integer([-7, 9]))
        let d = try NPY.parse(npy(descr: "=f8", shape: "()", data: f8([0.1])), file: "d.npy")
        XCTAssertEqual(d.shape, [])
        XCTAssertEqual(d.doubles, [0.1])
    }

    func testNPYLoadsClassesAndFloat32Regression() throws {
        let x = try write("x.npy", npy(descr: "<f4", shape: "(3, 2)", data: f4([1, 2, 3, 4, 5, 6])))
        let y = try write("y.npy", npy(descr: "<i8", shape: "(3,)", data: le([Int64(2), 0, 1])))
        let d = try Dataset.loadNPY(inputs: x, targets: y, name: "tiny")
        XCTAssertEqual(d.name, "tiny")
        XCTAssertEqual(d.inputs, [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(d.targets, .classes([2, 0, 1], classCount: 3))
        let withCount = try Dataset.loadNPY(inputs: x, targets: y, classCount: 10)
        XCTAssertEqual(withCount.targetWidth, 10)
        let yr = try write("yr.npy", npy(descr: "<f8", shape: "(3, 2)", data: f8([0.5, 1, 1.5, 2, 2.5, 3])))
        let r = try Dataset.loadNPY(inputs: x, targets: yr)
        XCTAssertEqual(r.targets, .regression([0.5, 1, 1.5, 2, 2.5, 3], width: 2))
    }

    func testNPYRefusals() throws {
        let good = try write("good.npy", npy(descr: "<f8", shape: "(3, 2)", data: f8([1, 2, 3, 4, 5, 6])))
        let labels = try write("labels.npy", npy(descr: "<i8", shape: "(3,)", data: le([Int64(0), 1, 0])))

        let truncated = try write("truncated.npy", npy(descr: "<f8", shape: "(3, 2)", data: f8([1, 2, 3, 4, 5])))
        assertRefuses(.truncated, ["truncated.npy", "needs 48 data bytes", "has 40", "truncated"]) {
            _ = try Dataset.loadNPY(inputs: truncated, targets: labels)
        }
        let halfHeader = try write("half.npy", Array(npy(descr: "<f8", shape: "(3, 2)", data: []).prefix(30)))
        assertRefuses(.truncated, ["half.npy", "header claims 118 bytes"]) { _ = try NPY.read(path: halfHeader, maxBytes: 1000) }
        let f2 = try write("f2.npy", npy(descr: "<f2", shape: "(3, 2)", data: [UInt8](repeating: 0, count: 12)))
        assertRefuses(.unsupportedType, ["f2.npy", "dtype '<f2' is not supported", "astype(numpy.float64)"]) {
            _ = try Dataset.loadNPY(inputs: f2, targets: labels)
        }
        let big = try write("big.npy", npy(descr: ">f8", shape: "(3, 2)", data: [UInt8](repeating: 0, count: 48)))
        assertRefuses(.unsupportedType, ["big.npy", "'>f8' is big-endian"]) {
            _ = try Dataset.loadNPY(inputs: big, targets: labels)
        }
        let fortran = try write("fortran.npy", npy(descr: "<f8", shape: "(3, 2)", fortran: true, data: f8([1, 2, 3, 4, 5, 6])))
        assertRefuses(.unsupportedType, ["fortran.npy", "Fortran order", "ascontiguousarray"]) {
            _ = try Dataset.loadNPY(inputs: fortran, targets: labels)
        }
        let nan = try write("nan.npy", npy(descr: "<f8", shape: "(3, 2)", data: f8([1, 2, 3, 4, 5, .nan])))
        assertRefuses(.nonFinite, ["nan.npy", "row 2, column 1 is nan", "remove or impute"]) {
            _ = try Dataset.loadNPY(inputs: nan, targets: labels)
        }
        let inf = try write("inf.npy", npy(descr: "<f8", shape: "(3, 1)", data: f8([0, -.infinity, 1])))
        assertRefuses(.nonFinite, ["inf.npy", "row 1, column 0 is -inf"]) { _ = try Dataset.loadNPY(inputs: good, targets: inf) }
        assertRefuses(.tooLarge, ["good.npy", "176 bytes", "maxBytes = 100"]) {
            _ = try Dataset.loadNPY(inputs: good, targets: labels, maxBytes: 100)
        }
        assertRefuses(.fileNotFound, ["missing.npy", "does not exist"]) {
            _ = try Dataset.loadNPY(inputs: path("missing.npy"), targets: labels)
        }
        let text = try write("text.npy", Array("1,2,3\n4,5,6\n".utf8))
        assertRefuses(.badFormat, ["text.npy", "does not start with \\x93NUMPY"]) {
            _ = try Dataset.loadNPY(inputs: text, targets: labels)
        }
        let malformed = try write("malformed.npy", npy(descr: "<f8", shape: "(3, 2", data: f8([1, 2, 3, 4, 5, 6])))
        assertRefuses(.badFormat, ["malformed.npy", "malformed .npy header"]) {
            _ = try NPY.read(path: malformed, maxBytes: 1000)
        }
        let four = try write("four.npy", npy(descr: "<i8", shape: "(4,)", data: le([Int64(0), 1, 0, 1])))
        assertRefuses(.shapeMismatch, ["four.npy", "(4,)", "good.npy has 3 rows"]) {
            _ = try Dataset.loadNPY(inputs: good, targets: four)
        }
        let negative = try write("negative.npy", npy(descr: "<i8", shape: "(3,)", data: le([Int64(0), -1, 0])))
        assertRefuses(.badLabel, ["negative.npy", "label at row 1 is -1"]) {
            _ = try Dataset.loadNPY(inputs: good, targets: negative)
        }
        let none = try write("none.npy", npy(descr: "<f8", shape: "(0, 2)", data: []))
        let noLabels = try write("nolabels.npy", npy(descr: "<i8", shape: "(0,)", data: []))
        assertRefuses(.shapeMismatch, ["has no samples"]) { _ = try Dataset.loadNPY(inputs: none, targets: noLabels) }
        assertRefuses(.badLabel, ["labels.npy", "label at row 1 is 1", "0…0"]) {
            _ = try Dataset.loadNPY(inputs: good, targets: labels, classCount: 1)
        }
    }

    // MARK: CSV

    func testCSVWithHeaderLabelByNameAndIndex() throws {
        let csv = try write("data.csv", Array("x1, x2,\"label\",x3\r\n1,2,0,3\r\n\r\n4.5,-5,2,6e1\n7,8,1,9\n".utf8))
        let d = try Dataset.loadCSV(path: csv, options: CSVOptions(label: .name("label")))
        XCTAssertEqual(d.sampleCount, 3)
        XCTAssertEqual(d.inputWidth, 3)
        XCTAssertEqual(d.inputs, [1, 2, 3, 4.5, -5, 60, 7, 8, 9])
        XCTAssertEqual(d.targets, .classes([0, 2, 1], classCount: 3))
        XCTAssertTrue(d.provenance.contains("\"label\""), d.provenance)
        let r = try Dataset.loadCSV(path: csv, options: CSVOptions(header: true, label: .index(0), labelKind: .regression))
        XCTAssertEqual(r.targets, .regression([1, 4.5, 7], width: 1))
        XCTAssertEqual(r.inputs, [2, 0, 3, -5, 2, 60, 8, 1, 9])
        let plain = try write("plain.tsv", Array("0.5\t1\n-0.5\t0\n".utf8))
        let p = try Dataset.loadCSV(path: plain, options: CSVOptions(delimiter: UInt8(ascii: "\t")))
        XCTAssertEqual(p.inputs, [0.5, -0.5], "no header detected: both rows are data")
        XCTAssertEqual(p.targets, .classes([1, 0], classCount: 2))
    }

    func testCSVRefusals() throws {
        let nan = try write("nan.csv", Array("a,b,y\n1,2,0\n3,nan,1\n".utf8))
        assertRefuses(.nonFinite, ["nan.csv", "line 3 (data row 1), column 1 (\"b\")", "nan", "impute"]) {
            _ = try Dataset.loadCSV(path: nan)
        }
        let inf = try write("inf.csv", Array("1,2,0\n3,4,1\n-inf,5,0\n".utf8))
        assertRefuses(.nonFinite, ["inf.csv", "line 3 (data row 2), column 0", "-inf"]) {
            _ = try Dataset.loadCSV(path: inf, options: CSVOptions(header: false))
        }
        let ragged = try write("ragged.csv", Array("1,2,0\n3,4\n".utf8))
        assertRefuses(.shapeMismatch, ["ragged.csv", "line 2", "has 2 fields, expected 3"]) {
            _ = try Dataset.loadCSV(path: ragged)
        }
        let word = try write("word.csv", Array("a,b,y\n1,two,0\n".utf8))
        assertRefuses(.badFormat, ["word.csv", "line 2", "\"two\", not a number"]) { _ = try Dataset.loadCSV(path: word) }
        let empty = try write("empty.csv", Array("a,b,y\n1,,0\n".utf8))
        assertRefuses(.badFormat, ["empty.csv", "line 2", "column 1 (\"b\") is empty"]) { _ = try Dataset.loadCSV(path: empty) }
        let fractional = try write("fractional.csv", Array("1,2,0\n3,4,0.5\n".utf8))
        assertRefuses(.badLabel, ["fractional.csv", "line 2", "label 0.5", "labelKind regression"]) {
            _ = try Dataset.loadCSV(path: fractional)
        }
        let ok = try write("ok.csv", Array("a,b,y\n1,2,0\n".utf8))
        assertRefuses(.invalidParameters, ["no column named \"label\"", "a, b, y"]) {
            _ = try Dataset.loadCSV(path: ok, options: CSVOptions(label: .name("label")))
        }
        assertRefuses(.tooLarge, ["ok.csv", "maxBytes = 5"]) {
            _ = try Dataset.loadCSV(path: ok, options: CSVOptions(maxBytes: 5))
        }
        assertRefuses(.fileNotFound, ["nope.csv", "does not exist"]) { _ = try Dataset.loadCSV(path: path("nope.csv")) }
    }

    // MARK: IDX

    /// A 3-image 2×2 uint8 file (magic 0x00000803) and its label file (0x00000801).
    private func idxFiles() -> (images: [UInt8], labels: [UInt8]) {
        let images: [UInt8] =
            [0, 0, 0x08, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2] + [0, 255, 51, 102, 1, 2, 3, 4, 255, 255, 0, 0]
        let labels: [UInt8] = [0, 0, 0x08, 1, 0, 0, 0, 3, 7, 0, 9]
        return (images, labels)
    }

    func testIDXRawAndGzipped() throws {
        let (images, labels) = idxFiles()
        let rawImages = try write("images.idx", images)
        let rawLabels = try write("labels.idx", labels)
        let d = try Dataset.loadIDX(images: rawImages, labels: rawLabels)
        XCTAssertEqual(d.sampleCount, 3)
        XCTAssertEqual(d.inputWidth, 4)
        XCTAssertEqual(
            Array(d.inputs.prefix(4)), [0, 1, 0.2, 0.4], "uint8 / 255 (51/255 = 0.2 exactly in decimal, to the double)")
        XCTAssertEqual(d.targets, .classes([7, 0, 9], classCount: 10))
        let unscaled = try Dataset.loadIDX(
            images: gzip(images, to: "images.gz"), labels: gzip(labels, to: "labels.gz"),
            scaleToUnitInterval: false)
        XCTAssertEqual(unscaled.inputs, [0, 255, 51, 102, 1, 2, 3, 4, 255, 255, 0, 0])
        XCTAssertEqual(unscaled.targets, d.targets)
        // Big-endian float64 and int16 elements.
        let doubles = try IDX.parse(
            [0, 0, 0x0E, 1, 0, 0, 0, 1] + (0..<8).map { UInt8(truncatingIfNeeded: (1.5).bitPattern >> (56 - 8 * $0)) },
            file: "d.idx")
        XCTAssertEqual(doubles.values, [1.5])
        let shorts = try IDX.parse([0, 0, 0x0B, 1, 0, 0, 0, 2, 0xFF, 0xFE, 0x01, 0x00], file: "s.idx")
        XCTAssertEqual(shorts.values, [-2, 256])
    }

    func testIDXRefusals() throws {
        let (images, labels) = idxFiles()
        let labelPath = try write("labels.idx", labels)
        let truncated = try write("truncated.idx", Array(images.dropLast(3)))
        assertRefuses(.truncated, ["truncated.idx", "need 12 data bytes but the file has 9"]) {
            _ = try Dataset.loadIDX(images: truncated, labels: labelPath)
        }
        let gz = gzip(images, to: "whole.gz")
        let gzBytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: gz)))
        let cut = try write("cut.gz", Array(gzBytes.prefix(gzBytes.count - 10)))
        assertRefuses(.truncated, ["cut.gz", "truncated or corrupt gzip"]) {
            _ = try Dataset.loadIDX(images: cut, labels: labelPath)
        }
        assertRefuses(.tooLarge, ["whole.gz", "once decompressed", "maxBytes = 20"]) {
            _ = try IDX.read(path: gz, maxBytes: 20)
        }
        let magic = try write("magic.idx", [1, 0, 8, 1, 0, 0, 0, 0])
        assertRefuses(.badFormat, ["magic.idx", "two zero bytes"]) { _ = try IDX.read(path: magic, maxBytes: 100) }
        let type = try write("type.idx", [0, 0, 0x0A, 1, 0, 0, 0, 0])
        assertRefuses(.unsupportedType, ["type.idx", "type byte 0x0A"]) { _ = try IDX.read(path: type, maxBytes: 100) }
        let imagePath = try write("images.idx", images)
        let twoLabels = try write("two.idx", [0, 0, 8, 1, 0, 0, 0, 2, 1, 2])
        assertRefuses(.shapeMismatch, ["two.idx", "has 2 labels", "has 3 images"]) {
            _ = try Dataset.loadIDX(images: imagePath, labels: twoLabels)
        }
        let floats = try write("floats.idx", [0, 0, 0x0D, 1, 0, 0, 0, 3] + [UInt8](repeating: 0, count: 12))
        assertRefuses(.invalidParameters, ["floats.idx", "turn scaling off"]) {
            _ = try Dataset.loadIDX(images: floats, labels: labelPath)
        }
    }

    // MARK: Batches

    /// Batches gather rows in the order given, convert to Float (rounding to nearest), and
    /// byteSize counts 8 bytes per input/regression value and 4 per class label.
    func testBatchesAndByteSize() throws {
        let d = try Dataset(
            name: "t", inputs: [0, 1, 2, 3, 4, 5, 6, 0.1], inputWidth: 2,
            targets: .regression([10, 11, 12, 13], width: 1), provenance: "test")
        let b: Batch<Float> = d.batch(indices: [3, 0, 3])
        XCTAssertEqual(b.rows, 3)
        XCTAssertEqual(b.inputs, [6, Float(0.1), 0, 1, 6, Float(0.1)])
        guard case .dense(let y, let width) = b.targets else { return XCTFail("dense targets expected") }
        XCTAssertEqual(y, [13, 10, 13])
        XCTAssertEqual(width, 1)
        let r = d.batch(range: 1..<3, as: Double.self)
        XCTAssertEqual(r.inputs, [2, 3, 4, 5])
        XCTAssertEqual(d.byteSize, 8 * 8 + 4 * 8)
        let c = try Dataset(
            name: "c", inputs: [1, 2, 3], inputWidth: 1, targets: .classes([2, 0, 1], classCount: 3), provenance: "")
        let cb = c.batch(range: 0..<3, as: Double.self)
        guard case .classes(let labels) = cb.targets else { return XCTFail("class targets expected") }
        XCTAssertEqual(labels, [2, 0, 1])
        XCTAssertEqual(c.byteSize, 3 * 8 + 3 * 4)
        XCTAssertEqual(c.fullBatch(as: Float.self).rows, 3)
        assertRefuses(.nonFinite, ["input at row 1, column 0 is nan"]) {
            _ = try Dataset(
                name: "n", inputs: [1, .nan], inputWidth: 1, targets: .classes([0, 0], classCount: 1), provenance: "")
        }
        assertRefuses(.shapeMismatch, ["2 samples need 2 class labels, got 3"]) {
            _ = try Dataset(
                name: "m", inputs: [1, 2], inputWidth: 1, targets: .classes([0, 0, 0], classCount: 1), provenance: "")
        }
    }
}
