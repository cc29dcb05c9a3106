import Foundation
import SaddleJSON
import SaddleModels

/// One ground-truth scenario folder, loaded through Saddle's own readers as a user's files would be:
/// model.json translated to a ``ModelSpec``, weights.safetensors through `Model.loadWeights(safetensorsAt:)`,
/// x.npy / y.npy through `Dataset.loadNPY`, the reference arrays through `NPY.read`, and expected.json
/// through SaddleJSON. Loading fails (throws) on any missing or malformed file, so tests fail rather than skip.
public struct Scenario: Sendable {
    /// The folder name, e.g. `a1_linear2_origin_saddle`; tests use it in failure messages.
    public let name: String
    public let folder: URL
    /// expected.json: loss, grad_norm, hessian_top5 (largest first), hessian_bottom5 (smallest first),
    /// hessian_trace, eigenvalue counts, expected_verdict (see shared/scenarios/README.md).
    public let expected: JSON
    /// model.json as written (the neutral description, including `param_order`).
    public let modelDescription: JSON
    /// model.json's `layers` as Saddle's model spec.
    public let spec: ModelSpec
    /// The model with the scenario's weights loaded.
    public let model: Model
    /// x.npy and y.npy; class targets get the model's output width as the class count.
    public let dataset: Dataset
    /// The whole data set as one float64 batch (the references are full-batch).
    public let batch: Batch<Double>

    /// Loads the scenario `name` under ``Scenarios/root``.
    public init(named name: String) throws {
        try self.init(folder: Scenarios.root.appendingPathComponent(name))
    }

    /// Loads the scenario in `folder`.
    public init(folder: URL) throws {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isFolder), isFolder.boolValue else {
            throw ScenarioError("scenario folder not found: \(folder.path) (scenarios root: \(Scenarios.root.path))")
        }
        self.name = folder.lastPathComponent
        self.folder = folder
        expected = try Self.readJSON(folder.appendingPathComponent("expected.json"))
        modelDescription = try Self.readJSON(folder.appendingPathComponent("model.json"))
        spec = try ScenarioModelTranslation.spec(modelDescription)
        var model = Model(spec: spec)
        try model.loadWeights(safetensorsAt: folder.appendingPathComponent("weights.safetensors").path)
        self.model = model
        dataset = try Dataset.loadNPY(
            inputs: folder.appendingPathComponent("x.npy").path, targets: folder.appendingPathComponent("y.npy").path,
            classCount: spec.loss == .softmaxCrossEntropy ? spec.outputWidth : nil)
        batch = dataset.fullBatch(as: Double.self)
    }

    /// Every scenario under ``Scenarios/root``, in name order.
    /// - Throws: ``ScenarioError`` when the folder is missing, or the first file that fails to load.
    public static func all() throws -> [Scenario] {
        try Scenarios.names.map { try Scenario(named: $0) }
    }

    /// A reference array of this scenario (`hessian.npy`, `grad.npy`, `hvp_v.npy`, `hvp_hv.npy`, …),
    /// read with SaddleModels' `NPY.read`.
    public func array(_ file: String) throws -> NPYArray {
        try NPY.read(path: folder.appendingPathComponent(file).path, maxBytes: Dataset.defaultMaxBytes)
    }

    private static func readJSON(_ url: URL) throws -> JSON {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ScenarioError("cannot read \(url.path)")
        }
        do { return try JSON.parse([UInt8](data)) } catch { throw ScenarioError("\(url.path): \(error)") }
    }
}
