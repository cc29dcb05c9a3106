import SaddleJSON
import SaddleRPC

/// `dataset/dispose`: forgets a data set.
enum DatasetDispose: RPCMethod {
    static let name = "dataset/dispose"
    struct Params: JSONDecodable {
        var dataset: String
        init(from reader: JSONReader) throws(JSONShapeError) {
            _ = try reader.object(allowing: ["dataset"])
            dataset = try reader["dataset"].string(nonEmpty: true)
        }
    }
    typealias Result = JSON
}
