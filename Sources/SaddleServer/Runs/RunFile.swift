import Foundation
import SaddleJSON
import SaddleModels
import SaddleRPC

/// The model and data parts of a run file (protocol/runfile.md); the training settings are read by
/// `run/start` itself, from the same object. Parsed by the daemon so that every client reads run
/// files the same way, with errors naming `params.runFile.<field>`.
struct RunFile: Sendable {
    enum ModelSource: Sendable {
        case spec(ModelSpec)
        case weights(ModelSpec, path: String)
    }
    enum DataSource: Sendable {
        case generate(DatasetGenerator)
        case load(DatasetLoad.Params)
    }

    static let fields: Set<String> = ["name", "model", "data", "optimizer", "pipeline", "steps", "epochs", "seed", "precision"]

    var model: ModelSource
    var data: DataSource

    init(from reader: JSONReader) throws(JSONShapeError) {
        let model = reader["model"]
        if model.value?["spec"] != nil {
            _ = try model.object(allowing: ["spec", "weights"])
            self.model = .weights(try model["spec"].decode(ModelSpec.self), path: try model["weights"].string(nonEmpty: true))
        } else {
            self.model = .spec(try model.decode(ModelSpec.self))
        }
        let data = reader["data"]
        _ = try data.object(allowing: ["generate", "load"])
        switch (data["generate"].isAbsent, data["load"].isAbsent) {
        case (false, true): self.data = .generate(try data["generate"].decode(DatasetGenerator.self))
        case (true, false): self.data = .load(try data["load"].decode(DatasetLoad.Params.self))
        default:
            throw data.fail("must hold exactly one of `generate` (dataset/generate's params) or `load` (dataset/load's params)")
        }
    }
}

extension DatasetLoad.Source {
    /// The same source with relative paths resolved against `directory` (the run file's folder).
    func resolvingPaths(against directory: String?) -> DatasetLoad.Source {
        guard let directory else { return self }
        func resolve(_ path: String) -> String {
            path.hasPrefix("/") ? path : URL(fileURLWithPath: directory).appendingPathComponent(path).path
        }
        switch self {
        case .npy(let inputs, let targets, let classes):
            return .npy(inputs: resolve(inputs), targets: resolve(targets), classes: classes)
        case .csv(let path, let options): return .csv(path: resolve(path), options: options)
        case .idx(let images, let labels, let scale, let classes):
            return .idx(images: resolve(images), labels: resolve(labels), scale: scale, classes: classes)
        }
    }
}
