import SaddleJSON
import SaddleRPC
import SaddleTraining

/// `run/ingest`: step events from a training loop that runs elsewhere, persisted before the answer.
enum RunIngest: RPCMethod {
    static let name = "run/ingest"
    struct Params: JSONDecodable {
        var run: String?
        var name: String?
        /// The events, validated by ``steps()`` on the request's own thread: decoding runs on the connection's
        /// reader thread (the request is staged, see Server+Runs), where thousands of events would hold up the
        /// requests behind them.
        private let stepsReader: JSONReader
        init(from reader: JSONReader) throws(JSONShapeError) {
            _ = try reader.object(allowing: ["run", "name", "steps"])
            run = try reader["run"].isAbsent ? nil : reader["run"].string(nonEmpty: true)
            name = try reader["name"].isAbsent ? nil : reader["name"].string(nonEmpty: true)
            if run == nil && name == nil {
                throw reader["run"].fail("is required: give an ingested run's id, or `name` to create a new ingested run")
            }
            stepsReader = reader["steps"]
        }

        /// The validated events; their `runId` is `run` (or empty for a run still to be created: the handler fills
        /// it in). Throws -32602's error naming the offending event's path.
        func steps() throws(JSONShapeError) -> [StepEvent] {
            try IngestValidator.validate(stepsReader, runId: run ?? "")
        }
    }
    typealias Result = JSON
}
