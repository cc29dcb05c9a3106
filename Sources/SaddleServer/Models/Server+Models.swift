import Foundation
import SaddleJSON
import SaddleModels
import SaddleRPC

extension Server {
    func registerModelMethods(_ table: inout MethodTable) {
        table.register(ModelCreate.self) { params, _ in
            let model = Model(spec: params.spec)
            let entry = try self.workspace.addModel(model, name: params.name, source: "created")
            return ModelDescription(entry: entry).json
        }
        table.register(ModelLoad.self, execution: .background) { params, _ in
            var model = Model(spec: params.spec)
            guard model.parameterCount <= self.workspace.limits.maxParameters else {
                throw RPCError.limitExceeded(
                    "parameter count", value: self.workspace.limits.maxParameters,
                    requested: model.parameterCount, flag: "--max-parameters")
            }
            do {
                try model.loadWeights(safetensorsAt: params.weights)
            } catch {
                throw RPCError.fileError("\(error)")
            }
            let entry = try self.workspace.addModel(model, name: params.name, source: params.weights)
            return ModelDescription(entry: entry).json
        }
        table.register(ModelSave.self, execution: .background) { params, _ in
            let entry = try self.workspace.model(params.model)
            do {
                try entry.model.saveWeights(to: params.path, dtype: params.dtype)
                if let specPath = params.specPath {
                    try Data(entry.model.spec.json.serialized()).write(to: URL(fileURLWithPath: specPath))
                }
            } catch {
                throw RPCError.fileError("\(error)")
            }
            let size = (try? FileManager.default.attributesOfItem(atPath: params.path)[.size] as? Int) ?? 0
            var result: [String: JSON] = [
                "model": .string(entry.id), "path": .string(params.path), "bytes": .int(size),
                "dtype": .string(params.dtype.rawValue),
            ]
            if let specPath = params.specPath { result["specPath"] = .string(specPath) }
            return .object(result)
        }
        table.register(ModelDescribe.self) { params, _ in
            ModelDescription(entry: try self.workspace.model(params.model)).json
        }
        table.register(ModelList.self) { _, _ in
            ["models": .array(self.workspace.models().map { ModelDescription(entry: $0, includeSpec: false).json })]
        }
        table.register(ModelDispose.self) { params, _ in
            ["disposed": .string(try self.workspace.disposeModel(params.model))]
        }
    }
}
