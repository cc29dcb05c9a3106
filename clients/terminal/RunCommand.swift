import ArgumentParser
import Foundation
import SaddleJSON

/// `saddle run`: trains a run file in the daemon and shows it live — progress, loss and gradient-norm
/// sparklines, λ_max/λ_min, and the verdict with its evidence — redrawn in place on a terminal, as plain
/// lines otherwise. Exit codes as `saddle diagnose`: 1 when the final verdict is in --fail-on, 2 on errors,
/// 130 on Ctrl-C (the run is stopped first).
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a run file and watch it live: progress, sparklines, curvature, verdict.",
        discussion: """
            On a terminal the dashboard redraws in place (about 10 times a second); piped or redirected, it prints \
            a progress line every --every steps, verdict changes, and the final diagnosis. λ_max/λ_min come from a \
            cheap curvature/eigen (tolerance 1e-3, 30 iterations) at the end, and every --curvature-every steps \
            when given (the run is paused for it and resumed). Ctrl-C stops the run and exits (130).
            """)

    @Argument(help: "The run file (JSON, protocol/runfile.md).") var runFile: String
    @Option(
        name: .long,
        help: "Also measure λ_max/λ_min every N steps (the run pauses exactly at each multiple of N); default: only at the end.")
    var curvatureEvery: Int?
    @Option(name: .long, help: "Plain output: a progress line every N steps (default: a twentieth of the run).")
    var every: Int?
    @Option(name: .long, help: "Comma-separated verdicts that fail (exit 1), e.g. saddle,plateau.") var failOn: String = ""
    @Option(name: .long, help: "The run store saddled opens (default: saddled's own default).") var store: String?
    @Option(
        name: .long,
        help:
            "Attach to the saddled serving this Unix socket (saddled --listen) instead of starting one; default: $SADDLE_SOCKET.")
    var socket: String?

    func validate() throws {
        if let curvatureEvery, curvatureEvery < 1 { throw ValidationError("--curvature-every must be at least 1") }
        if let every, every < 1 { throw ValidationError("--every must be at least 1") }
        try Verdicts.validate(failOn)
    }

    func run() throws {
        let live = LiveRun()
        // Ignored before saddled starts, so it inherits that: Ctrl-C on a terminal signals the whole
        // foreground process group, and the daemon must live on to stop the run cleanly.
        signal(SIGINT, SIG_IGN)
        let client: DaemonClient
        let status: JSON
        do {
            client = try DaemonClient(arguments: store.map { ["--store", $0] } ?? [], socket: socket) { live.handle($0, $1) }
            try client.initialize()
            // Checkpoints need frequent step events to pause close to their step.
            status = try RunFileLauncher.startStatus(
                client: client, path: runFile, events: ["rate": curvatureEvery == nil ? 50 : 500])
        } catch {
            printError("saddle run: \(error)")
            throw ExitCode(2)
        }
        let run = status["run"]?.stringValue ?? ""
        live.update {
            $0.run = run
            $0.totalSteps = Int(status["totalSteps"]?.int64Value ?? 0)
            $0.startedAt = Date()
        }
        let tty = isatty(STDOUT_FILENO) == 1
        // Ctrl-C only flags the run; the drive loop notices within a tick and this thread stops the run.
        let interrupt = Interrupt.install { live.update { $0.interrupted = true } }
        defer { interrupt.cancel() }

        let title = "saddle run \(runFile) — run \(run)"
        if tty {
            var renderer = InPlaceRenderer()
            let dashboard = Dashboard(title: title, columns: Dashboard.terminalColumns())
            live.drive(client: client, status: status, checkpointEvery: curvatureEvery) { renderer.draw(dashboard.lines($0)) }
            renderer.draw(dashboard.lines(live.snapshot), force: true)
            InPlaceRenderer.restoreCursor()
        } else {
            print(title)
            var plain = PlainProgress(every: every ?? max(1, Int(status["totalSteps"]?.int64Value ?? 20) / 20))
            live.drive(client: client, status: status, checkpointEvery: curvatureEvery) { s in
                for line in plain.newLines(s) { print(line) }
                fflush(nil)
            }
        }
        let s = live.snapshot
        if s.interrupted {
            let outcome: String
            do {
                let stopped = try client.call("run/stop", ["run": .string(run)])
                outcome = "run \(run) stopped at step \(stopped["step"]?.int64Value ?? 0)"
            } catch {
                outcome = "could not stop run \(run): \(error)"
            }
            printError("\nsaddle run: interrupted; \(outcome).")
            client.close()
            throw ExitCode(130)
        }
        client.close()
        guard let diagnosis = s.finalDiagnosis ?? s.latestDiagnosis else {
            printError("saddle run: no diagnosis arrived for run \(run)")
            throw ExitCode(2)
        }
        print("")
        print(DiagnosisOutput.text(diagnosis, subject: "run \(run) (\(runFile))"), terminator: "")
        if Verdicts.parse(failOn).contains(DiagnosisOutput.verdict(diagnosis)) { throw ExitCode(1) }
    }
}

/// The verdicts `--fail-on` accepts.
enum Verdicts {
    static let known = Set([
        "saddle", "localMinimum", "plateau", "noisyOrIllConditioned", "diverging", "dataPipelineStall",
        "straggler", "rankDivergence", "progressing",
    ])

    static func parse(_ list: String) -> Set<String> {
        Set(list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
    }

    static func validate(_ list: String) throws {
        for verdict in parse(list) where !known.contains(verdict) {
            throw ValidationError(
                "--fail-on: unknown verdict \"\(verdict)\"; verdicts are \(known.sorted().joined(separator: ", "))")
        }
    }
}

/// Ctrl-C as an event: SIGINT is ignored by the default action and handled on a queue instead, so the
/// run can be stopped cleanly before the process exits.
enum Interrupt {
    static func install(_ handler: @escaping @Sendable () -> Void) -> any DispatchSourceSignal {
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler(handler: handler)
        source.resume()
        return source
    }
}
