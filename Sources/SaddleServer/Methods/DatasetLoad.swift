import SaddleJSON
import SaddleModels
import SaddleRPC

/// `dataset/load`: a data set from files: `.npy` (inputs and targets), CSV, or IDX (MNIST, gzip too).
enum DatasetLoad: RPCMethod {
    static let name = "dataset/load"
    enum Source: Sendable {
        case npy(inputs: String, targets: String, classes: Int?)
        case csv(path: String, options: CSVOptions)
        case idx(images: String, labels: String, scale: Bool, classes: Int?)
    }
    struct Params: JSONDecodable, Sendable {
        var source: Source
        var name: String?
        init(from reader: JSONReader) throws(JSONShapeError) {
            _ = try reader.object(allowing: [
                "format", "inputs", "targets", "path", "header", "labelColumn", "labelKind",
                "delimiter", "classes", "images", "labels", "scale", "name",
            ])
            name = try reader["name"].optionalString()
            let classes = try reader["classes"].optionalInt(min: 1)
            switch try reader["format"].oneOf(["npy", "csv", "idx"]) {
            case "npy":
                source = .npy(
                    inputs: try reader["inputs"].string(nonEmpty: true),
                    targets: try reader["targets"].string(nonEmpty: true), classes: classes)
            case "csv":
                var options = CSVOptions()
                if !reader["header"].isAbsent { options.header = try reader["header"].bool() }
                if case .int? = reader["labelColumn"].value {
                    options.label = .index(try reader["labelColumn"].int(min: 0))
                } else if let column = try reader["labelColumn"].optionalString() {
                    options.label = .name(column)
                }
                options.labelKind = try reader["labelKind"].enumCase(CSVOptions.LabelKind.self, default: .classes)
                if let delimiter = try reader["delimiter"].optionalString() {
                    guard delimiter.utf8.count == 1, let byte = delimiter.utf8.first, byte < 128 else {
                        throw reader["delimiter"].fail("must be one ASCII character, got \"\(delimiter)\"")
                    }
                    options.delimiter = byte
                }
                options.classCount = classes
                source = .csv(path: try reader["path"].string(nonEmpty: true), options: options)
            default:
                source = .idx(
                    images: try reader["images"].string(nonEmpty: true),
                    labels: try reader["labels"].string(nonEmpty: true),
                    scale: try reader["scale"].bool(default: true), classes: classes)
            }
        }
    }
    typealias Result = JSON
}
