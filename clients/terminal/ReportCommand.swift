import ArgumentParser
import Foundation
import SaddleJSON

/// `saddle report`: one self-contained HTML file about a run — loss and gradient norm with the verdicts
/// marked, λ_max/λ_min over time, the spectral density and a 2-D loss landscape at the end, the final
/// diagnosis and the run settings. From a run file (trained now) or a stored run (history only).
struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a run file (or read a stored run) and write an HTML report with plots.",
        discussion: """
            With RUNFILE the run is trained now: every --curvature-every steps (default a tenth of the run) it is \
            paused for curvature/eigen (tolerance 1e-3, 30 iterations) and resumed; at the end curvature/density \
            (4 probes, 40 steps) and curvature/landscape (2-D, random directions, 21 points) are measured. With \
            --run ID --store PATH only the stored history and a diagnosis of it are shown (the model is not stored).
            """)

    @Argument(help: "A run file (JSON) to train and report on.") var runFile: String?
    @Option(name: .customLong("run"), help: "The id of a stored run (history only).") var runID: String?
    @Option(name: .long, help: "The run store saddled opens (default: saddled's own default).") var store: String?
    @Option(
        name: .long,
        help:
            "Attach to the saddled serving this Unix socket (saddled --listen) instead of starting one; default: $SADDLE_SOCKET.")
    var socket: String?
    @Option(name: [.short, .long], help: "The HTML file to write.") var output: String = "report.html"
    @Option(
        name: .long,
        help: "Measure λ_max/λ_min every K steps, pausing the run exactly at each multiple of K (default: a tenth of the run).")
    var curvatureEvery: Int?

    func validate() throws {
        guard (runFile == nil) != (runID == nil) else { throw ValidationError("give exactly one of RUNFILE or --run ID") }
        if let curvatureEvery, curvatureEvery < 1 { throw ValidationError("--curvature-every must be at least 1") }
    }

    func run() throws {
        let report: HTMLReport
        do {
            report = try runFile.map(reportRunFile) ?? reportStoredRun(runID ?? "")
        } catch let exit as ExitCode {
            throw exit
        } catch {
            printError("saddle report: \(error)")
            throw ExitCode(2)
        }
        try Data(report.html().utf8).write(to: URL(fileURLWithPath: output))
        print("wrote \(output): \(report.diagnosisSubject): \(report.diagnosis.map(DiagnosisOutput.verdict) ?? "no diagnosis")")
    }

    private func reportRunFile(_ path: String) throws -> HTMLReport {
        let live = LiveRun()
        signal(SIGINT, SIG_IGN)  // inherited by saddled, which must live on to stop the run (see Run)
        let client = try DaemonClient(arguments: ["--store", store ?? ":memory:"], socket: socket) { live.handle($0, $1) }
        defer { client.close() }
        try client.initialize()
        let status = try RunFileLauncher.startStatus(client: client, path: path, events: ["rate": 500])
        let run = status["run"]?.stringValue ?? ""
        let total = Int(status["totalSteps"]?.int64Value ?? 0)
        live.update {
            $0.run = run
            $0.totalSteps = total
            $0.startedAt = Date()
        }
        let interrupt = Interrupt.install { live.update { $0.interrupted = true } }
        defer { interrupt.cancel() }
        live.drive(client: client, status: status, checkpointEvery: curvatureEvery ?? max(1, total / 10)) { _ in }
        let s = live.snapshot
        if s.interrupted {
            _ = try? client.call("run/stop", ["run": .string(run)])
            printError("saddle report: interrupted; run \(run) stopped, no report written.")
            throw ExitCode(130)
        }

        var report = HTMLReport(title: "Saddle report: \(path)")
        report.settings = [("run", run)] + HTMLReport.flatten(try RunFileLauncher.read(path: path))
        report.history = try history(client, run: run)
        report.verdicts = s.verdicts
        report.eigen = s.eigen
        report.diagnosis = s.finalDiagnosis ?? s.latestDiagnosis
        report.diagnosisSubject = "run \(run)"
        let target: [String: JSON] = ["model": status["model"] ?? .null, "dataset": status["dataset"] ?? .null]
        report.density = measure(client, "curvature/density", target.merging(["probes": 4, "steps": 40]) { $1 })
        report.landscape = measure(
            client, "curvature/landscape",
            target.merging(["dimensions": 2, "directions": "random", "points": 21]) { $1 })
        return report
    }

    private func reportStoredRun(_ run: String) throws -> HTMLReport {
        let client = try DaemonClient(arguments: store.map { ["--store", $0] } ?? [], socket: socket) { _, _ in }
        defer { client.close() }
        try client.initialize()
        var report = HTMLReport(title: "Saddle report: run \(run)")
        report.history = try history(client, run: run)
        let listed = try client.call("run/list")["runs"]?.arrayValue?.first { $0["run"]?.stringValue == run }
        report.settings =
            [("run", run)] + HTMLReport.flatten(listed?["config"] ?? [:])
            + [("state", listed?["state"]?.stringValue ?? "?"), ("finishReason", listed?["finishReason"]?.stringValue ?? "-")]
        report.diagnosis = try? client.call("diagnose", ["run": .string(run)])
        report.diagnosisSubject = "run \(run)"
        let gap = HTMLReport.ReportGap("a stored run has its history only; its model is not in this daemon")
        report.density = .failure(gap)
        report.landscape = .failure(gap)
        return report
    }

    /// Every step of the run, rank 0 (at most 2,000 points: the store downsamples longer runs).
    private func history(_ client: DaemonClient, run: String) throws -> [HTMLReport.Point] {
        let result = try client.call("run/history", ["run": .string(run), "rank": 0, "maxPoints": 2000])
        return (result["points"]?.arrayValue ?? []).map {
            HTMLReport.Point(
                step: $0["step"]?.doubleValue ?? .nan, loss: $0["loss"]?.doubleValue ?? .nan,
                gradNorm: $0["gradNorm"]?.doubleValue ?? .nan)
        }
    }

    private func measure(_ client: DaemonClient, _ method: String, _ params: [String: JSON]) -> Result<JSON, HTMLReport.ReportGap>
    {
        do {
            return .success(try client.call(method, .object(params)))
        } catch {
            return .failure(HTMLReport.ReportGap("\(error)"))
        }
    }
}
