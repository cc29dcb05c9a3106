import SaddleJSON

/// Params naming one run: `{"run": id}`.
struct RunRef: JSONDecodable {
    var run: String
    init(from reader: JSONReader) throws(JSONShapeError) {
        _ = try reader.object(allowing: ["run"])
        run = try reader["run"].string(nonEmpty: true)
    }
}
