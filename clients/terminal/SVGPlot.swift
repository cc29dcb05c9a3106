import Foundation

/// Small SVG plots for the HTML report: line charts with markers, and contour maps of a 2-D grid.
/// Pure string building; no scripts, so the report is one self-contained file.
enum SVGPlot {
    struct Series {
        var name: String
        var x: [Double]
        var y: [Double]
        var color: String
    }

    struct Marker {
        var x: Double
        var label: String
    }

    static let width = 640.0, height = 300.0, margin = 48.0

    /// A line chart; `logY` plots log10(y) for positive values. Vertical markers label x positions.
    static func lineChart(
        title: String, series: [Series], markers: [Marker] = [], logY: Bool = false,
        xLabel: String = "step"
    ) -> String {
        let transform: (Double) -> Double? = { y in
            guard y.isFinite else { return nil }
            if logY { return y > 0 ? log10(y) : nil }
            return y
        }
        let xs = series.flatMap(\.x).filter(\.isFinite)
        let ys = series.flatMap { $0.y.compactMap(transform) }
        var svg = header(title: title)
        guard let x0 = xs.min(), let x1 = xs.max(), let y0 = ys.min(), let y1 = ys.max() else {
            return svg + "<text x=\"\(width / 2)\" y=\"\(height / 2)\" text-anchor=\"middle\">no data</text></svg>"
        }
        let (xLo, xHi) = x1 > x0 ? (x0, x1) : (x0 - 1, x0 + 1)
        let pad = y1 > y0 ? (y1 - y0) * 0.05 : 1
        let (yLo, yHi) = (y0 - pad, y1 + pad)
        func px(_ x: Double) -> Double { margin + (x - xLo) / (xHi - xLo) * (width - 2 * margin) }
        func py(_ y: Double) -> Double { height - margin - (y - yLo) / (yHi - yLo) * (height - 2 * margin) }
        svg += axes(xLo: xLo, xHi: xHi, yLo: yLo, yHi: yHi, logY: logY, xLabel: xLabel)
        var lastLabel = -Double.infinity
        for marker in markers where marker.x.isFinite {
            let x = px(marker.x)
            svg +=
                "<line class=\"marker\" x1=\"\(f(x))\" y1=\"\(f(margin))\" x2=\"\(f(x))\" y2=\"\(f(height - margin))\" stroke=\"#b44\" stroke-dasharray=\"4 3\"/>"
            // Labels that would overlap the previous one are left out; the line still marks the change.
            guard x - lastLabel >= 7 * Double(marker.label.count) else { continue }
            lastLabel = x
            svg +=
                "<text x=\"\(f(x + 3))\" y=\"\(f(margin + 12))\" fill=\"#b44\" font-size=\"11\">\(DiagnosisOutput.escape(marker.label))</text>"
        }
        for (index, s) in series.enumerated() {
            var points: [String] = []
            for (x, y) in zip(s.x, s.y) {
                guard x.isFinite, let ty = transform(y) else { continue }
                points.append("\(f(px(x))),\(f(py(ty)))")
            }
            svg +=
                "<polyline class=\"series\" fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"1.5\" points=\"\(points.joined(separator: " "))\"/>"
            svg +=
                "<text x=\"\(f(width - margin - 120))\" y=\"\(f(margin + 14 + 14 * Double(index)))\" fill=\"\(s.color)\" font-size=\"12\">\(DiagnosisOutput.escape(s.name))</text>"
        }
        return svg + "</svg>"
    }

    /// A filled contour map of `values[i][j]` at (xs[i], ys[j]) with `levels` levels (marching squares).
    static func contour(title: String, xs: [Double], ys: [Double], values: [[Double]], levels: Int = 12) -> String {
        var svg = header(title: title)
        let finite = values.flatMap { $0 }.filter(\.isFinite)
        guard xs.count >= 2, ys.count >= 2, let lo = finite.min(), let hi = finite.max(), hi > lo else {
            return svg + "<text x=\"\(width / 2)\" y=\"\(height / 2)\" text-anchor=\"middle\">no data</text></svg>"
        }
        let (xLo, xHi, yLo, yHi) = (xs[0], xs[xs.count - 1], ys[0], ys[ys.count - 1])
        func px(_ x: Double) -> Double { margin + (x - xLo) / (xHi - xLo) * (width - 2 * margin) }
        func py(_ y: Double) -> Double { height - margin - (y - yLo) / (yHi - yLo) * (height - 2 * margin) }
        // Cells shaded by value, then iso-lines on top.
        for i in 0..<(xs.count - 1) {
            for j in 0..<(ys.count - 1) {
                let v = [values[i][j], values[i + 1][j], values[i][j + 1], values[i + 1][j + 1]].filter(\.isFinite)
                guard !v.isEmpty else { continue }
                let t = (v.reduce(0, +) / Double(v.count) - lo) / (hi - lo)
                svg +=
                    "<rect x=\"\(f(px(xs[i])))\" y=\"\(f(py(ys[j + 1])))\" width=\"\(f(px(xs[i + 1]) - px(xs[i]) + 0.5))\" height=\"\(f(py(ys[j]) - py(ys[j + 1]) + 0.5))\" fill=\"\(color(t))\"/>"
            }
        }
        for k in 1..<levels {
            let level = lo + (hi - lo) * Double(k) / Double(levels)
            var path = ""
            for i in 0..<(xs.count - 1) {
                for j in 0..<(ys.count - 1) {
                    let corners = [
                        (xs[i], ys[j], values[i][j]), (xs[i + 1], ys[j], values[i + 1][j]),
                        (xs[i + 1], ys[j + 1], values[i + 1][j + 1]), (xs[i], ys[j + 1], values[i][j + 1]),
                    ]
                    var crossings: [(Double, Double)] = []
                    for e in 0..<4 {
                        let (ax, ay, av) = corners[e], (bx, by, bv) = corners[(e + 1) % 4]
                        guard av.isFinite, bv.isFinite, (av < level) != (bv < level) else { continue }
                        let t = (level - av) / (bv - av)
                        crossings.append((ax + t * (bx - ax), ay + t * (by - ay)))
                    }
                    for pair in stride(from: 0, to: crossings.count - 1, by: 2) {
                        let (a, b) = (crossings[pair], crossings[pair + 1])
                        path += "M\(f(px(a.0))) \(f(py(a.1)))L\(f(px(b.0))) \(f(py(b.1)))"
                    }
                }
            }
            if !path.isEmpty {
                svg += "<path class=\"contour\" d=\"\(path)\" stroke=\"#222\" stroke-width=\"0.7\" fill=\"none\"/>"
            }
        }
        let cx = px(0), cy = py(0)
        if (xLo...xHi).contains(0), (yLo...yHi).contains(0) {
            svg += "<circle cx=\"\(f(cx))\" cy=\"\(f(cy))\" r=\"4\" fill=\"#fff\" stroke=\"#000\"/>"
        }
        svg += axes(xLo: xLo, xHi: xHi, yLo: yLo, yHi: yHi, logY: false, xLabel: "direction 1")
        return svg + "</svg>"
    }

    private static func header(title: String) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"plot\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"\(Int(width))\" height=\"\(Int(height))\">"
            + "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>"
            + "<text x=\"\(f(width / 2))\" y=\"20\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">\(DiagnosisOutput.escape(title))</text>"
    }

    private static func axes(xLo: Double, xHi: Double, yLo: Double, yHi: Double, logY: Bool, xLabel: String) -> String {
        var svg =
            "<line x1=\"\(f(margin))\" y1=\"\(f(height - margin))\" x2=\"\(f(width - margin))\" y2=\"\(f(height - margin))\" stroke=\"#000\"/>"
        svg += "<line x1=\"\(f(margin))\" y1=\"\(f(margin))\" x2=\"\(f(margin))\" y2=\"\(f(height - margin))\" stroke=\"#000\"/>"
        for k in 0...4 {
            let t = Double(k) / 4
            let xv = xLo + t * (xHi - xLo), yv = yLo + t * (yHi - yLo)
            let x = margin + t * (width - 2 * margin), y = height - margin - t * (height - 2 * margin)
            svg +=
                "<text x=\"\(f(x))\" y=\"\(f(height - margin + 16))\" text-anchor=\"middle\" font-size=\"10\">\(formatNumber(xv))</text>"
            let label = logY ? "1e\(String(format: "%.1f", yv))" : formatNumber(yv)
            svg += "<text x=\"\(f(margin - 4))\" y=\"\(f(y + 3))\" text-anchor=\"end\" font-size=\"10\">\(label)</text>"
        }
        svg += "<text x=\"\(f(width / 2))\" y=\"\(f(height - 8))\" text-anchor=\"middle\" font-size=\"11\">\(xLabel)</text>"
        return svg
    }

    /// Blue (low) to yellow (high).
    private static func color(_ t: Double) -> String {
        let t = min(1, max(0, t))
        let r = Int(40 + 215 * t), g = Int(60 + 170 * t), b = Int(160 - 120 * t)
        return String(format: "#%02x%02x%02x", r, g, b)
    }

    private static func f(_ v: Double) -> String { String(format: "%.1f", v) }
}
