import Foundation
import SaddleJSON

/// The live dashboard of `saddle run`: the lines for one snapshot (pure), redrawn in place on a
/// terminal (ANSI cursor-up and clear-line, at most every `minInterval` seconds), or written as plain
/// progress lines when stdout is not a terminal.
struct Dashboard {
    var title: String
    /// Columns of the terminal; lines are cut to fit, so a redraw never wraps (wrapping breaks cursor-up).
    var columns = 100
    var sparkWidth = 40

    /// `0:01:05`, or `--:--` when unknown.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "--:--" }
        let s = Int(seconds.rounded())
        return String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
    }

    /// The dashboard for `s`, one string per line.
    func lines(_ s: RunSnapshot, now: Date = Date()) -> [String] {
        let total = max(s.totalSteps, 1)
        let rate = s.rate(now: now)
        var out = [title]
        let state = s.finished.map { "finished (\($0["reason"]?.stringValue ?? "?"))" } ?? "running"
        out.append(
            "\(Sparkline.progressBar(fraction: Double(s.completed) / Double(total), width: 30))  "
                + "\(s.completed)/\(s.totalSteps) steps  \(rate.isFinite ? String(format: "%.1f", rate) : "--") steps/s  "
                + (s.finished == nil ? "\(Self.duration(s.secondsLeft(now: now))) left" : state))
        out.append("loss       \(Sparkline.render(s.losses, width: sparkWidth))  \(formatNumber(s.losses.last ?? .nan))")
        out.append("grad norm  \(Sparkline.render(s.gradNorms, width: sparkWidth))  \(formatNumber(s.gradNorms.last ?? .nan))")
        if let e = s.eigen.last {
            out.append("curvature  λ_max \(formatNumber(e.lambdaMax))  λ_min \(formatNumber(e.lambdaMin))  (step \(e.step))")
        } else {
            out.append("curvature  " + (s.eigenError.map { "unavailable: \($0)" } ?? "measured at the end"))
        }
        if let v = s.verdicts.last {
            let confidence = v.diagnosis["confidence"]?.doubleValue ?? 0
            out.append(
                "verdict    \(v.verdict) (confidence \(String(format: "%.2f", confidence)), "
                    + "\(v.final ? "final" : "step \(v.step)"))")
            for item in Self.topEvidence(v.diagnosis, count: 3) { out.append("  " + DiagnosisOutput.evidenceLine(item)) }
        } else {
            out.append("verdict    (none yet: the daemon checks every 50 steps)")
        }
        return out.map { Self.cut($0, to: columns) }
    }

    /// Decisive evidence first, then the rest, as the diagnosis listed it.
    static func topEvidence(_ diagnosis: JSON, count: Int) -> [JSON] {
        let items = diagnosis["evidence"]?.arrayValue ?? []
        let decisive = items.filter { $0["decisive"]?.boolValue == true }
        let others = items.filter { $0["decisive"]?.boolValue != true }
        return Array((decisive + others).prefix(count))
    }

    static func cut(_ line: String, to columns: Int) -> String {
        line.count <= columns ? line : String(line.prefix(max(1, columns - 1))) + "…"
    }

    /// The width of the terminal on stdout, else `$COLUMNS`, else 100.
    static func terminalColumns() -> Int {
        var size = winsize()
        if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 10 { return Int(size.ws_col) }
        return ProcessInfo.processInfo.environment["COLUMNS"].flatMap(Int.init) ?? 100
    }
}

/// Redraws a block of lines in place: moves the cursor up over the previous block and rewrites each
/// line, clearing what was there. Not thread-safe; one owner draws.
struct InPlaceRenderer {
    private var drawn = 0
    private var lastDraw = Date.distantPast
    var minInterval: TimeInterval = 0.1

    /// Draws `lines` unless the last draw is under `minInterval` ago (`force` draws anyway).
    mutating func draw(_ lines: [String], force: Bool = false) {
        let now = Date()
        guard force || now.timeIntervalSince(lastDraw) >= minInterval else { return }
        lastDraw = now
        var text = drawn > 0 ? "\u{1B}[\(drawn)A" : "\u{1B}[?25l"  // up over the old block; hide the cursor
        for line in lines { text += "\r\u{1B}[2K" + line + "\n" }
        // A shorter block than before: clear the leftover lines below, then come back up.
        if drawn > lines.count {
            let extra = drawn - lines.count
            for _ in 0..<extra { text += "\r\u{1B}[2K\n" }
            text += "\u{1B}[\(extra)A"
        }
        drawn = lines.count
        Self.write(text)
    }

    /// Shows the cursor again (after the last draw, or on Ctrl-C).
    static func restoreCursor() { write("\u{1B}[?25h") }

    static func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}

/// Plain progress for a pipe or a file: one line each time the run passes a multiple of `every` steps,
/// one line per verdict change and per curvature measurement.
struct PlainProgress {
    var every: Int
    private var nextLine = 0
    private var lastPrinted = 0
    private var verdictsShown = 0
    private var eigenShown = 0

    init(every: Int) { self.every = max(1, every) }

    /// The lines that `s` adds since the last call.
    mutating func newLines(_ s: RunSnapshot, now: Date = Date()) -> [String] {
        var out: [String] = []
        let done = s.completed
        // Every `every` steps, and the last step once the run has finished.
        if done > 0 && (done >= nextLine || (s.finished != nil && done != lastPrinted)) {
            lastPrinted = done
            let rate = s.rate(now: now)
            out.append(
                "step \(done)/\(s.totalSteps)  loss \(formatNumber(s.losses.last ?? .nan))  "
                    + "grad norm \(formatNumber(s.gradNorms.last ?? .nan))  "
                    + "\(rate.isFinite ? String(format: "%.1f", rate) : "--") steps/s  "
                    + "\(Dashboard.duration(s.secondsLeft(now: now))) left")
            nextLine = (done / every + 1) * every
        }
        for e in s.eigen.dropFirst(eigenShown) {
            out.append("curvature at step \(e.step): λ_max \(formatNumber(e.lambdaMax))  λ_min \(formatNumber(e.lambdaMin))")
        }
        eigenShown = s.eigen.count
        for v in s.verdicts.dropFirst(verdictsShown) where !v.final {
            out.append("verdict at step \(v.step): \(v.verdict)")
        }
        verdictsShown = s.verdicts.count
        return out
    }
}
