import SaddleJSON
import SaddleRPC

/// `daemon/status`: a cheap health check answered on the connection's thread; used as the
/// trivial request of the latency benchmark.
public enum DaemonStatus: RPCMethod {
    public static let name = "daemon/status"
    public typealias Params = Empty

    public struct Result: JSONEncodable {
        public var version: String
        public var uptimeSeconds: Double
        public var requestsInFlight: Int
        public var models: Int
        public var datasets: Int
        public var json: JSON {
            [
                "version": .string(version), "uptimeSeconds": .double(uptimeSeconds),
                "requestsInFlight": .int(requestsInFlight), "models": .int(models), "datasets": .int(datasets),
            ]
        }
    }
}
