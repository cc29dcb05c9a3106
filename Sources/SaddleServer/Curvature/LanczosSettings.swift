import SaddleJSON

/// The Lanczos params shared by `curvature/eigen` and `curvature/blocks`: how many eigenvalues at each
/// end, the tolerance relative to the spectrum's scale, and the iteration cap.
struct LanczosSettings: Sendable {
    static let fields: Set<String> = ["largest", "smallest", "tolerance", "maxIterations"]

    var largest: Int
    var smallest: Int
    var tolerance: Double
    var maxIterations: Int?

    init(from reader: JSONReader, maxCount: Int) throws(JSONShapeError) {
        largest = try reader["largest"].int(default: 1, min: 0, max: maxCount)
        smallest = try reader["smallest"].int(default: 1, min: 0, max: maxCount)
        if largest + smallest == 0 {
            throw reader["largest"].fail("and `params.smallest` are both 0; ask for at least one eigenvalue")
        }
        tolerance = try reader["tolerance"].double(default: 1e-6, min: 0)
        maxIterations = try reader["maxIterations"].optionalInt(min: 1, max: 1_000_000)
    }
}
