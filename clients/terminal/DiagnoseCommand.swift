import ArgumentParser
import Foundation
import SaddleJSON

/// `saddle diagnose`: a verdict for CI, from a metrics log, a stored run, or a run file; the daemon
/// computes it, this command presents it and sets the exit code.
struct Diagnose: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Diagnose a run and fail the job on the verdicts you name.",
        discussion: """
            Sources (one of): RUNFILE (trained now, then diagnosed), --log FILE (JSON Lines of step events as the \
            Python bridge writes them, or the metrics.csv of PyTorch Lightning's CSVLogger), --run ID (a run in the \
            store given by --store). Exit codes: 0 when the verdict is not in --fail-on, 1 when it is, 2 on errors.
            """)

    @Argument(help: "A run file (JSON) to train and diagnose.") var runFile: String?
    @Option(name: .long, help: "A metrics log: .jsonl (step events) or Lightning's metrics.csv.") var log: String?
    @Option(name: .customLong("run"), help: "The id of a stored run.") var runID: String?
    @Option(name: .long, help: "The run store saddled opens (default: saddled's own default).") var store: String?
    @Option(
        name: .long,
        help:
            "Attach to the saddled serving this Unix socket (saddled --listen) instead of starting one; default: $SADDLE_SOCKET.")
    var socket: String?
    @Option(name: .long, help: "Output format: text, json or junit.") var format: String = "text"
    @Option(name: .long, help: "Write the output to this file instead of stdout.") var output: String?
    @Option(name: .long, help: "Comma-separated verdicts that fail the job, e.g. saddle,dataPipelineStall.")
    var failOn: String = ""
    @Option(name: .long, help: "Threshold overrides as a JSON object, e.g. '{\"dataWaitShare\": 0.3}'.")
    var thresholds: String?

    func validate() throws {
        let sources = [runFile != nil, log != nil, runID != nil].filter { $0 }.count
        guard sources == 1 else { throw ValidationError("give exactly one of RUNFILE, --log FILE or --run ID") }
        guard DiagnosisOutput(rawValue: format) != nil else {
            throw ValidationError("--format must be one of: text, json, junit")
        }
        for verdict in failVerdicts where !Verdicts.known.contains(verdict) {
            throw ValidationError(
                "--fail-on: unknown verdict \"\(verdict)\"; verdicts are \(Verdicts.known.sorted().joined(separator: ", "))")
        }
    }

    var failVerdicts: Set<String> {
        Set(failOn.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
    }

    func run() throws {
        guard let renderer = DiagnosisOutput(rawValue: format) else {
            throw ValidationError("--format must be one of: text, json, junit")
        }
        // Exit code 1 is reserved for a failing verdict: every other failure exits 2.
        let diagnosis: JSON, subject: String
        do {
            (diagnosis, subject) = try diagnose()
        } catch let error as ValidationError {
            throw error
        } catch {
            printError("saddle diagnose: \(error)")
            throw ExitCode(2)
        }
        let rendered = try renderer.render(diagnosis, subject: subject, failOn: failVerdicts)
        if let output {
            try Data(rendered.utf8).write(to: URL(fileURLWithPath: output))
        } else {
            print(rendered, terminator: "")
        }
        if failVerdicts.contains(DiagnosisOutput.verdict(diagnosis)) { throw ExitCode(1) }
    }

    private func diagnose() throws -> (JSON, String) {
        var daemonArguments: [String] = []
        if let store {
            daemonArguments += ["--store", store]
        } else if runID == nil {
            daemonArguments += ["--store", ":memory:"]
        }
        let client = try DaemonClient(arguments: daemonArguments, socket: socket) { _, _ in }
        defer { client.close() }
        try client.initialize()
        var params: [String: JSON] = [:]
        if let thresholds { params["thresholds"] = try JSON.parse(thresholds) }
        let subject: String
        if let log {
            let events = try MetricsLog.read(path: log)
            guard !events.isEmpty else { throw ValidationError("\(log) holds no step events") }
            params["evidence"] = ["history": .array(events)]
            subject = log
        } else if let runID {
            params["run"] = .string(runID)
            subject = "run \(runID)"
        } else if let runFile {
            let started = try RunFileLauncher.start(client: client, path: runFile)
            try RunFileLauncher.waitUntilFinished(client: client, run: started)
            params["run"] = .string(started)
            subject = runFile
        } else {
            throw ValidationError("give exactly one of RUNFILE, --log FILE or --run ID")
        }
        return (try client.call("diagnose", .object(params)), subject)
    }
}
