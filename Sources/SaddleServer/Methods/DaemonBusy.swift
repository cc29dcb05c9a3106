import SaddleJSON
import SaddleRPC

/// `daemon/busy`: a diagnostic method that does cancellable work for a given time on a compute
/// thread, reporting `$/progress`. It exists so that clients and tests can exercise concurrency,
/// progress and cancellation without a model; it changes nothing.
public enum DaemonBusy: RPCMethod {
    public static let name = "daemon/busy"

    public struct Params: JSONDecodable {
        /// How long to work, in milliseconds (at most ten minutes).
        public var milliseconds: Int
        public init(from reader: JSONReader) throws(JSONShapeError) {
            _ = try reader.object(allowing: ["milliseconds", "workDoneToken"])
            milliseconds = try reader["milliseconds"].int(min: 0, max: 600_000)
        }
    }

    public struct Result: JSONEncodable {
        public var milliseconds: Double
        public var json: JSON { ["milliseconds": .double(milliseconds)] }
    }
}
