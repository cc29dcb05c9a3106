import Foundation
import SaddleJSON
import SaddleModels
import SaddleRPC
import Synchronization

/// The daemon's shared state: models, data sets and named directions, by id. Every client of the
/// daemon sees the same workspace. Values are copy-on-write, so readers take a snapshot under the
/// lock and compute without holding it.
public final class Workspace: Sendable {
    /// A model the daemon holds.
    public struct ModelEntry: Sendable {
        public var id: String
        public var name: String?
        public var model: Model
        /// Where it came from: "created", or the weights file it was loaded from.
        public var source: String
        /// The run that currently trains it, if any (its parameters change while that run is active).
        public var trainingRun: String?
    }

    /// A data set the daemon holds.
    public struct DatasetEntry: Sendable {
        public var id: String
        public var dataset: Dataset
    }

    /// A direction in a model's parameter space (e.g. an eigenvector), kept for later requests.
    public struct DirectionEntry: Sendable {
        public var id: String
        public var model: String
        public var vector: [Double]
        /// What it is: "eigenvector λ=-0.53 (hessian)", "random filter-normalized", …
        public var label: String
        public var eigenvalue: Double?
    }

    private struct State {
        var models: [String: ModelEntry] = [:]
        var datasets: [String: DatasetEntry] = [:]
        var directions: [String: DirectionEntry] = [:]
        var counters: [String: Int] = [:]
    }

    private let state = Mutex(State())
    public let limits: Limits

    public init(limits: Limits) { self.limits = limits }

    private static func nextID(_ prefix: String, _ s: inout State) -> String {
        let n = (s.counters[prefix] ?? 0) + 1
        s.counters[prefix] = n
        return "\(prefix)\(n)"
    }

    // MARK: Memory budget

    /// Bytes held now: models' parameters (8 bytes each) plus data sets (`--memory-budget` counts these).
    public var heldBytes: Int { state.withLock { Self.heldBytes($0) } }

    private static func heldBytes(_ s: State) -> Int {
        s.models.values.reduce(0) { $0 + $1.model.parameterCount * MemoryLayout<Double>.size }
            + s.datasets.values.reduce(0) { $0 + $1.dataset.byteSize }
    }

    private static func checkBudget(adding bytes: Int, _ s: State, _ limits: Limits) throws(RPCError) {
        let needed = heldBytes(s) + bytes
        guard needed <= limits.memoryBudgetBytes else {
            throw .limitExceeded("memory budget", value: limits.memoryBudgetBytes, requested: needed, flag: "--memory-budget")
        }
    }

    // MARK: Models

    /// Adds a model, refusing it over the parameter limit or with a name already in use.
    public func addModel(_ model: Model, name: String?, source: String) throws(RPCError) -> ModelEntry {
        guard model.parameterCount <= limits.maxParameters else {
            throw .limitExceeded(
                "parameter count", value: limits.maxParameters, requested: model.parameterCount,
                flag: "--max-parameters")
        }
        return try state.withLock { s throws(RPCError) -> ModelEntry in
            if let name, s.models.values.contains(where: { $0.name == name }) {
                throw RPCError(
                    .invalidParams, "a model named \"\(name)\" already exists; choose another name or dispose of it first")
            }
            try Self.checkBudget(adding: model.parameterCount * MemoryLayout<Double>.size, s, limits)
            let entry = ModelEntry(id: Self.nextID("m", &s), name: name, model: model, source: source)
            s.models[entry.id] = entry
            return entry
        }
    }

    /// The model with this id (or unique name).
    public func model(_ key: String) throws(RPCError) -> ModelEntry {
        let found = state.withLock { s in s.models[key] ?? s.models.values.first { $0.name == key } }
        guard let found else {
            throw .notFound("no model \"\(key)\"; model/list shows the models the daemon holds")
        }
        return found
    }

    public func models() -> [ModelEntry] {
        state.withLock { Array($0.models.values) }.sorted { $0.id.numericOrder < $1.id.numericOrder }
    }

    /// Replaces a model's parameters (after training or an escape step).
    public func updateParameters(model id: String, _ parameters: [Double]) throws(RPCError) {
        try state.withLock { s throws(RPCError) in
            guard var entry = s.models[id] else { throw .notFound("no model \"\(id)\"") }
            do { entry.model = try Model(spec: entry.model.spec, parameters: parameters) } catch {
                throw .invalidParams("\(error)")
            }
            s.models[id] = entry
        }
    }

    /// Marks a model as trained by `run` (nil to release it); refuses a model another run trains.
    public func setTrainingRun(model id: String, run: String?) throws(RPCError) {
        try state.withLock { s throws(RPCError) in
            guard var entry = s.models[id] else { throw .notFound("no model \"\(id)\"") }
            if let run, let other = entry.trainingRun, other != run {
                throw .invalidState("model \(id) is being trained by run \(other); stop or finish that run first")
            }
            entry.trainingRun = run
            s.models[id] = entry
        }
    }

    public func disposeModel(_ key: String) throws(RPCError) -> String {
        let entry = try model(key)
        if let run = entry.trainingRun {
            throw .invalidState("model \(entry.id) is being trained by run \(run); stop that run before disposing of the model")
        }
        state.withLock { s in
            s.models[entry.id] = nil
            s.directions = s.directions.filter { $0.value.model != entry.id }
        }
        return entry.id
    }

    // MARK: Data sets

    public func addDataset(_ dataset: Dataset) throws(RPCError) -> DatasetEntry {
        let total = state.withLock { $0.datasets.values.reduce(0) { $0 + $1.dataset.byteSize } }
        guard total + dataset.byteSize <= limits.maxDatasetBytes else {
            throw .limitExceeded(
                "data-set bytes", value: limits.maxDatasetBytes, requested: total + dataset.byteSize,
                flag: "--max-dataset-bytes")
        }
        return try state.withLock { s throws(RPCError) -> DatasetEntry in
            try Self.checkBudget(adding: dataset.byteSize, s, limits)
            let entry = DatasetEntry(id: Self.nextID("d", &s), dataset: dataset)
            s.datasets[entry.id] = entry
            return entry
        }
    }

    public func dataset(_ key: String) throws(RPCError) -> DatasetEntry {
        let found = state.withLock { s in s.datasets[key] ?? s.datasets.values.first { $0.dataset.name == key } }
        guard let found else {
            throw .notFound("no data set \"\(key)\"; dataset/list shows the data sets the daemon holds")
        }
        return found
    }

    public func datasets() -> [DatasetEntry] {
        state.withLock { Array($0.datasets.values) }.sorted { $0.id.numericOrder < $1.id.numericOrder }
    }

    public func disposeDataset(_ key: String) throws(RPCError) -> String {
        let entry = try dataset(key)
        state.withLock { $0.datasets[entry.id] = nil }
        return entry.id
    }

    // MARK: Directions

    public func addDirection(model: String, vector: [Double], label: String, eigenvalue: Double?) -> DirectionEntry {
        state.withLock { s in
            let entry = DirectionEntry(
                id: Self.nextID("v", &s), model: model, vector: vector, label: label, eigenvalue: eigenvalue)
            s.directions[entry.id] = entry
            return entry
        }
    }

    public func direction(_ id: String, model: String) throws(RPCError) -> DirectionEntry {
        guard let entry = state.withLock({ $0.directions[id] }) else {
            throw .notFound(
                "no direction \"\(id)\"; curvature/eigen with \"keepVectors\": true stores eigenvectors as directions")
        }
        guard entry.model == model else {
            throw .invalidParams("direction \(id) belongs to model \(entry.model), not \(model)")
        }
        return entry
    }

    public func directions(model: String) -> [DirectionEntry] {
        state.withLock { s in s.directions.values.filter { $0.model == model } }.sorted {
            $0.id.numericOrder < $1.id.numericOrder
        }
    }
}

extension String {
    /// Sorts "m2" before "m10".
    var numericOrder: Int { Int(drop { !$0.isNumber }) ?? 0 }
}
