import SaddleJSON
import SaddleRPC
import SaddleTraining

/// `run/ingest`: step events from a training loop that runs elsewhere, persisted before the answer.
enum RunIngest: RPCMethod {
    static let name = "run/ingest"
    struct Params: JSONDecodable {
        var run: String?
        var name: String?
        /// Validated events; their `runId` is filled in by the handler.
        var steps: [StepEvent]
        init(from reader: JSONReader) throws(JSONShapeError) {
            _ = try reader.object(allowing: ["run", "name", "steps"])
            run = try reader["run"].isAbsent ? nil : reader["run"].string(nonEmpty: true)
            name = try reader["name"].isAbsent ? nil : reader["name"].string(nonEmpty: true)
            if run == nil && name == nil {
                throw reader["run"].fail("is required: give an ingested run's id, or `name` to create a new ingested run")
            }
            steps = try IngestValidator.validate(reader["steps"], runId: run ?? "")
        }
    }
    typealias Result = JSON
}
