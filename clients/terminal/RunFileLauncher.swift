import Foundation
import SaddleJSON

/// Starts a run from a run file: the daemon reads the file's content (protocol/runfile.md), so
/// every client interprets run files the same way.
enum RunFileLauncher {
    struct Failure: Error, CustomStringConvertible { let description: String }

    /// Sends `run/start` with the run file; returns the run's id.
    static func start(client: DaemonClient, path: String, events: JSON? = nil) throws -> String {
        let url = URL(fileURLWithPath: path)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw Failure(description: "cannot read the run file \(path)")
        }
        let runFile: JSON
        do {
            runFile = try JSON.parse(Array(data))
        } catch {
            throw Failure(description: "\(path) is not valid JSON: \(error)")
        }
        var params: [String: JSON] = ["runFile": runFile, "runFileDirectory": .string(url.deletingLastPathComponent().path)]
        if let events { params["events"] = events }
        let result = try client.call("run/start", .object(params))
        guard let run = result["run"]?.stringValue else { throw Failure(description: "run/start answered without a run id") }
        return run
    }

    /// Blocks until `run/finished` for `run`; returns its params.
    @discardableResult
    static func waitUntilFinished(client: DaemonClient, run: String) throws -> JSON {
        guard let finished = client.waitForNotification("run/finished", matching: { $0["run"]?.stringValue == run }) else {
            throw Failure(description: "saddled exited before run \(run) finished")
        }
        return finished
    }
}
