import Foundation
import SaddleJSON

/// Starts a run from a run file: the daemon reads the file's content (protocol/runfile.md), so
/// every client interprets run files the same way.
enum RunFileLauncher {
    struct Failure: Error, CustomStringConvertible { let description: String }

    /// Sends `run/start` with the run file; returns the run's id.
    static func start(client: DaemonClient, path: String, events: JSON? = nil) throws -> String {
        let status = try startStatus(client: client, path: path, events: events)
        guard let run = status["run"]?.stringValue else { throw Failure(description: "run/start answered without a run id") }
        return run
    }

    /// Sends `run/start` with the run file; returns the run's status (its `run`, and the `model` and
    /// `dataset` ids the daemon created from the file, which curvature requests need).
    static func startStatus(client: DaemonClient, path: String, events: JSON? = nil) throws -> JSON {
        let runFile = try read(path: path)
        let url = URL(fileURLWithPath: path)
        var params: [String: JSON] = ["runFile": runFile, "runFileDirectory": .string(url.deletingLastPathComponent().path)]
        if let events { params["events"] = events }
        let result = try client.call("run/start", .object(params))
        guard result["run"]?.stringValue != nil else { throw Failure(description: "run/start answered without a run id") }
        return result
    }

    /// The run file's JSON, as it will be sent (also shown as the settings of a report).
    static func read(path: String) throws -> JSON {
        guard let data = FileManager.default.contents(atPath: URL(fileURLWithPath: path).path) else {
            throw Failure(description: "cannot read the run file \(path)")
        }
        do {
            return try JSON.parse(Array(data))
        } catch {
            throw Failure(description: "\(path) is not valid JSON: \(error)")
        }
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
