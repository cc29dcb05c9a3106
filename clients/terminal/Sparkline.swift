import Foundation
/// Tiny text charts for the terminal.
enum Sparkline {
    private static let bars: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

    /// The last `width` values as bars, scaled between their finite minimum and maximum (log scale when
    /// all are positive and span more than a decade); non-finite values show as `!`.
    static func render(_ values: [Double], width: Int = 40) -> String {
        let tail = Array(values.suffix(width))
        let finite = tail.filter(\.isFinite)
        guard let low = finite.min(), let high = finite.max() else { return String(repeating: "!", count: tail.count) }
        let useLog = low > 0 && high / low > 10
        func scale(_ v: Double) -> Double { useLog ? log10(v) : v }
        let lo = scale(low), hi = scale(high)
        return String(
            tail.map { v -> Character in
                guard v.isFinite else { return "!" }
                let t = hi > lo ? (scale(v) - lo) / (hi - lo) : 0.5
                return bars[min(bars.count - 1, max(0, Int(t * Double(bars.count - 1) + 0.5)))]
            })
    }

    /// `[#####-----] 50%`.
    static func progressBar(fraction: Double, width: Int = 30) -> String {
        let f = min(1, max(0, fraction.isFinite ? fraction : 0))
        let filled = Int(f * Double(width) + 0.5)
        return "[" + String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled) + "]"
            + " \(Int(f * 100 + 0.5))%"
    }
}

/// Formats numbers compactly for the terminal: `0.0123`, `1.2e-07`, `NaN`.
func formatNumber(_ value: Double) -> String {
    guard value.isFinite else { return value.isNaN ? "NaN" : (value > 0 ? "Inf" : "-Inf") }
    let magnitude = abs(value)
    if magnitude != 0 && (magnitude < 1e-3 || magnitude >= 1e5) {
        return String(format: "%.3e", value)
    }
    return String(format: "%.4g", value)
}

/// Writes a line to stderr (stdout is for results).
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
