import Foundation
import SaddleJSON

/// Presents a diagnosis the daemon computed: as text for people, JSON for programs, JUnit XML for CI.
enum DiagnosisOutput: String, CaseIterable {
    case text, json, junit

    func render(_ diagnosis: JSON, subject: String, failOn: Set<String>) throws -> String {
        switch self {
        case .text: return Self.text(diagnosis, subject: subject)
        case .json: return try diagnosis.serializedString() + "\n"
        case .junit: return Self.junit(diagnosis, subject: subject, failOn: failOn)
        }
    }

    static func verdict(_ diagnosis: JSON) -> String { diagnosis["verdict"]?.stringValue ?? "unknown" }

    static func text(_ diagnosis: JSON, subject: String) -> String {
        var lines: [String] = []
        let confidence = diagnosis["confidence"]?.doubleValue ?? 0
        lines.append("\(subject): \(verdict(diagnosis)) (confidence \(String(format: "%.2f", confidence)))")
        if let reason = diagnosis["reason"]?.stringValue, !reason.isEmpty { lines.append("  \(reason)") }
        let evidence = diagnosis["evidence"]?.arrayValue ?? []
        if !evidence.isEmpty {
            lines.append("  evidence:")
            for item in evidence.sorted(by: { ($0["decisive"]?.boolValue ?? false) && !($1["decisive"]?.boolValue ?? false) }) {
                lines.append("    " + evidenceLine(item))
            }
        }
        let recommendations = diagnosis["recommendations"]?.arrayValue ?? []
        if !recommendations.isEmpty {
            lines.append("  recommendations:")
            for r in recommendations {
                let field = r["field"]?.stringValue.map { " [\($0)]" } ?? ""
                lines.append("    - \(r["text"]?.stringValue ?? "")\(field)")
            }
        }
        if let missing = diagnosis["missing"]?.arrayValue, !missing.isEmpty {
            lines.append("  would sharpen the verdict: " + missing.compactMap(\.stringValue).joined(separator: ", "))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `* λ_min = -0.53 < -1e-4 → saddle`.
    static func evidenceLine(_ item: JSON) -> String {
        let mark = item["decisive"]?.boolValue == true ? "*" : "-"
        let value = item["value"]?.doubleValue.map(formatNumber) ?? "?"
        let threshold = item["threshold"]?.doubleValue.map(formatNumber) ?? "?"
        let comparison = item["comparison"]?.stringValue ?? "?"
        let points = item["pointsTo"]?.stringValue ?? ""
        let test = item["holds"]?.boolValue == false ? "(not \(comparison) \(threshold))" : "\(comparison) \(threshold)"
        var line = "\(mark) \(item["name"]?.stringValue ?? "?") = \(value) \(test) → \(points)"
        if let note = item["note"]?.stringValue, !note.isEmpty { line += " (\(note))" }
        return line
    }

    static func junit(_ diagnosis: JSON, subject: String, failOn: Set<String>) -> String {
        let v = verdict(diagnosis)
        let failed = failOn.contains(v)
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        xml += "<testsuites name=\"saddle\" tests=\"1\" failures=\"\(failed ? 1 : 0)\">\n"
        xml += "  <testsuite name=\"saddle diagnose\" tests=\"1\" failures=\"\(failed ? 1 : 0)\">\n"
        xml += "    <testcase classname=\"saddle\" name=\"\(escape(subject))\">\n"
        if failed {
            xml += "      <failure type=\"\(escape(v))\" message=\"\(escape("training stalled: \(v)"))\">"
            xml += escape(text(diagnosis, subject: subject)) + "</failure>\n"
        }
        xml += "      <system-out>\(escape(text(diagnosis, subject: subject)))</system-out>\n"
        xml += "    </testcase>\n  </testsuite>\n</testsuites>\n"
        return xml
    }

    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(c)
            }
        }
        return out
    }
}
