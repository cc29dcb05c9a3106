import Foundation
import SaddleJSON

/// Reads a training loop's metrics into step events (the vocabulary of `run/ingest` and `run/step`):
/// JSON Lines as the Python bridge writes them, or the `metrics.csv` of PyTorch Lightning's CSVLogger.
enum MetricsLog {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func read(path: String) throws -> [JSON] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Failure(description: "cannot read \(path): no such file or not readable")
        }
        let text = String(decoding: data, as: UTF8.self)
        return path.hasSuffix(".csv") ? try lightningCSV(text, path: path) : try jsonLines(text, path: path)
    }

    /// One step event per non-blank line.
    static func jsonLines(_ text: String, path: String) throws -> [JSON] {
        var events: [JSON] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            do {
                let event = try JSON.parse(trimmed)
                guard case .object = event, event["step"] != nil, event["loss"] != nil else {
                    throw Failure(description: "\(path) line \(index + 1): each line must be an object with `step` and `loss`")
                }
                events.append(event)
            } catch let error as JSONError {
                throw Failure(description: "\(path) line \(index + 1): \(error)")
            }
        }
        return events
    }

    /// Lightning's CSVLogger writes one row per logging call, with empty cells for metrics not logged in that
    /// call; rows of the same step are merged. The loss is the first column named `train_loss`,
    /// `loss`, `train_loss_step` or ending in `loss`; the learning rate a column starting with `lr`.
    static func lightningCSV(_ text: String, path: String) throws -> [JSON] {
        var lines = text.split(whereSeparator: \.isNewline).map(String.init)
        guard !lines.isEmpty else { throw Failure(description: "\(path) is empty") }
        let header = lines.removeFirst().split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        guard let stepColumn = header.firstIndex(of: "step") else {
            throw Failure(description: "\(path): no `step` column; is this a Lightning CSVLogger metrics.csv?")
        }
        let preferred = ["train_loss", "loss", "train_loss_step"]
        guard
            let lossColumn = preferred.compactMap({ header.firstIndex(of: $0) }).first
                ?? header.firstIndex(where: { $0.hasSuffix("loss") })
        else {
            throw Failure(description: "\(path): no loss column (looked for train_loss, loss, *loss)")
        }
        let lrColumn = header.firstIndex { $0.hasPrefix("lr") }
        let epochColumn = header.firstIndex(of: "epoch")
        var byStep: [Int: [String: JSON]] = [:]
        for (index, line) in lines.enumerated() {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard cells.count == header.count else {
                throw Failure(description: "\(path) line \(index + 2): \(cells.count) cells, the header has \(header.count)")
            }
            guard let step = Int(cells[stepColumn]) ?? Double(cells[stepColumn]).map({ Int($0) }) else { continue }
            var event = byStep[step] ?? ["step": .int(step)]
            if let loss = number(cells[lossColumn]) { event["loss"] = JSON.number(loss) }
            if let lrColumn, let lr = number(cells[lrColumn]) { event["lr"] = JSON.number(lr) }
            if let epochColumn, let epoch = number(cells[epochColumn]) { event["epoch"] = .int(Int(epoch)) }
            byStep[step] = event
        }
        return byStep.keys.sorted().compactMap { step in
            guard let event = byStep[step], event["loss"] != nil else { return nil }
            return .object(event)
        }
    }

    private static func number(_ cell: String) -> Double? {
        switch cell.lowercased() {
        case "": return nil
        case "nan": return .nan
        case "inf", "infinity": return .infinity
        case "-inf", "-infinity": return -.infinity
        default: return Double(cell)
        }
    }
}
