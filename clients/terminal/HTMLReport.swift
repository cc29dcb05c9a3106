import Foundation
import SaddleJSON
import SaddleRPC

/// The content of `saddle report`, gathered from the daemon; ``html`` renders it as one self-contained
/// HTML file (inline CSS and SVG, no scripts, no external resources).
struct HTMLReport {
    struct Point { var step: Double; var loss: Double; var gradNorm: Double }

    var title: String
    /// Run settings as dotted keys (`optimizer.lr`) and their values.
    var settings: [(String, String)] = []
    var history: [Point] = []
    /// Verdicts the daemon sent while the run trained; each change of verdict becomes a marker.
    var verdicts: [VerdictPoint] = []
    var eigen: [EigenPoint] = []
    /// `curvature/density`'s result, or why there is none.
    var density: Result<JSON, ReportGap> = .failure(ReportGap("not measured"))
    /// `curvature/landscape`'s (2-D) result, or why there is none.
    var landscape: Result<JSON, ReportGap> = .failure(ReportGap("not measured"))
    var diagnosis: JSON?
    var diagnosisSubject = ""

    /// Why a figure has no data (a stored run without its model, a failed request).
    struct ReportGap: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    static let plotTitles = (
        loss: "Loss and gradient norm", eigen: "Extreme Hessian eigenvalues",
        density: "Spectral density at the end", landscape: "Loss landscape around the final point"
    )

    /// Markers where the verdict changed (the first verdict included).
    var verdictMarkers: [SVGPlot.Marker] {
        var markers: [SVGPlot.Marker] = []
        var previous: String?
        for v in verdicts where v.verdict != previous {
            markers.append(SVGPlot.Marker(x: Double(v.step), label: v.final ? "\(v.verdict) (final)" : v.verdict))
            previous = v.verdict
        }
        return markers
    }

    func lossPlot() -> String {
        SVGPlot.lineChart(
            title: Self.plotTitles.loss,
            series: [
                SVGPlot.Series(name: "loss", x: history.map(\.step), y: history.map(\.loss), color: "#1f77b4"),
                SVGPlot.Series(name: "gradient norm", x: history.map(\.step), y: history.map(\.gradNorm), color: "#ff7f0e"),
            ], markers: verdictMarkers, logY: history.allSatisfy { !($0.loss <= 0) && !($0.gradNorm <= 0) })
    }

    func eigenPlot() -> String {
        SVGPlot.lineChart(
            title: Self.plotTitles.eigen,
            series: [
                SVGPlot.Series(name: "λ_max", x: eigen.map { Double($0.step) }, y: eigen.map(\.lambdaMax), color: "#d62728"),
                SVGPlot.Series(name: "λ_min", x: eigen.map { Double($0.step) }, y: eigen.map(\.lambdaMin), color: "#2ca02c"),
            ])
    }

    func densityPlot() -> String {
        let result = try? density.get()
        let grid = result?["grid"]?.arrayValue?.compactMap(\.doubleValue) ?? []
        let rho = result?["density"]?.arrayValue?.compactMap(\.doubleValue) ?? []
        return SVGPlot.lineChart(
            title: Self.plotTitles.density,
            series: [SVGPlot.Series(name: "density", x: grid, y: rho, color: "#9467bd")],
            xLabel: "Hessian eigenvalue")
    }

    func landscapePlot() -> String {
        let result = try? landscape.get()
        let alphas = result?["alphas"]?.arrayValue?.compactMap(\.doubleValue) ?? []
        let betas = result?["betas"]?.arrayValue?.compactMap(\.doubleValue) ?? []
        let losses = result?["losses"]?.arrayValue?.map { $0.arrayValue?.map { $0.doubleValue ?? .nan } ?? [] } ?? []
        let complete = losses.count == alphas.count && losses.allSatisfy { $0.count == betas.count }
        return SVGPlot.contour(
            title: Self.plotTitles.landscape, xs: complete ? alphas : [], ys: complete ? betas : [],
            values: complete ? losses : [])
    }

    func html() -> String {
        let e = DiagnosisOutput.escape
        var page = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>\(e(title))</title>
            <style>
            body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;color:#222;max-width:1340px}
            h1{font-size:22px}h2{font-size:17px;margin-top:28px}
            .plots{display:flex;flex-wrap:wrap;gap:16px}figure{margin:0;border:1px solid #ddd;padding:6px;background:#fff}
            figcaption{font-size:12px;color:#555;max-width:640px}
            table{border-collapse:collapse;font-size:13px}td{border-bottom:1px solid #eee;padding:2px 10px}
            .verdict{font-size:18px;font-weight:bold}.decisive{font-weight:bold}code,pre{font-size:12px}
            </style></head><body>
            <h1>\(e(title))</h1>

            """
        page += "<h2>Diagnosis</h2>\n" + diagnosisHTML()
        page += "<h2>Plots</h2>\n<div class=\"plots\">\n"
        page += figure(
            lossPlot(),
            caption:
                "Per-step loss and gradient norm (log scale when positive); dashed lines mark where the live verdict changed.")
        page += figure(
            eigenPlot(),
            caption: eigen.isEmpty
                ? "Not measured: the model is not in this daemon (a stored run has its history only)."
                : "λ_max and λ_min by Lanczos (tolerance 1e-3, 30 iterations) at \(eigen.count) checkpoints; the run was paused for each."
        )
        page += figure(
            densityPlot(),
            caption: caption(density, "Stochastic Lanczos quadrature (4 probes, 40 steps) at the final parameters."))
        page += figure(
            landscapePlot(),
            caption: caption(
                landscape,
                "L(θ + α·d₁ + β·d₂) on 21×21 points, d₁ and d₂ random filter-normalized directions; the circle is the final point."
            ))
        page += "</div>\n<h2>Run settings</h2>\n<table>\n"
        for (key, value) in settings { page += "<tr><td><code>\(e(key))</code></td><td>\(e(value))</td></tr>\n" }
        page +=
            "</table>\n<p style=\"font-size:12px;color:#777\">Generated by saddle \(e(saddleVersion)); every number comes from saddled.</p>\n</body></html>\n"
        return page
    }

    private func figure(_ svg: String, caption: String) -> String {
        "<figure>\(svg)<figcaption>\(DiagnosisOutput.escape(caption))</figcaption></figure>\n"
    }

    private func caption(_ result: Result<JSON, ReportGap>, _ ok: String) -> String {
        switch result {
        case .success: return ok
        case .failure(let gap): return "Not available: \(gap.description)"
        }
    }

    /// The diagnosis as `DiagnosisOutput.text` says it, in HTML: verdict, reason, evidence (decisive in
    /// bold), recommendations, what was missing.
    func diagnosisHTML() -> String {
        let e = DiagnosisOutput.escape
        guard let d = diagnosis else { return "<p>No diagnosis.</p>\n" }
        let confidence = d["confidence"]?.doubleValue ?? 0
        var html =
            "<p class=\"verdict\">\(e(diagnosisSubject)): \(e(DiagnosisOutput.verdict(d))) (confidence \(String(format: "%.2f", confidence)))</p>\n"
        if let reason = d["reason"]?.stringValue, !reason.isEmpty { html += "<p>\(e(reason))</p>\n" }
        let evidence = Dashboard.topEvidence(d, count: .max)
        if !evidence.isEmpty {
            html += "<p>Evidence:</p><ul>\n"
            for item in evidence {
                let line = e(String(DiagnosisOutput.evidenceLine(item).dropFirst(2)))  // the list marks it instead of * / -
                html += item["decisive"]?.boolValue == true ? "<li class=\"decisive\">\(line)</li>\n" : "<li>\(line)</li>\n"
            }
            html += "</ul>\n"
        }
        if let recommendations = d["recommendations"]?.arrayValue, !recommendations.isEmpty {
            html += "<p>Recommendations:</p><ul>\n"
            for r in recommendations {
                let field = r["field"]?.stringValue.map { " <code>[\(e($0))]</code>" } ?? ""
                html += "<li>\(e(r["text"]?.stringValue ?? ""))\(field)</li>\n"
            }
            html += "</ul>\n"
        }
        if let missing = d["missing"]?.arrayValue, !missing.isEmpty {
            html += "<p>Would sharpen the verdict: \(e(missing.compactMap(\.stringValue).joined(separator: ", ")))</p>\n"
        }
        return html
    }

    /// `{"optimizer": {"lr": 0.1}}` → `[("optimizer.lr", "0.1")]`, keys sorted.
    static func flatten(_ json: JSON, prefix: String = "") -> [(String, String)] {
        switch json {
        case .object(let members):
            return members.keys.sorted().flatMap {
                flatten(members[$0] ?? .null, prefix: prefix.isEmpty ? $0 : "\(prefix).\($0)")
            }
        case .array(let items) where items.contains(where: { $0.objectValue != nil }):
            return items.enumerated().flatMap { flatten($1, prefix: "\(prefix)[\($0)]") }
        case .string(let s): return [(prefix, s)]
        case .double(let d): return [(prefix, "\(d)")]  // shortest round-trip form: 0.05, not 0.05000000000000000003
        default: return [(prefix, (try? json.serializedString()) ?? "?")]
        }
    }
}
