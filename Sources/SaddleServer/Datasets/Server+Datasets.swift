import SaddleJSON
import SaddleModels
import SaddleRPC

extension Server {
    func registerDatasetMethods(_ table: inout MethodTable) {
        table.register(DatasetLoad.self, execution: .background) { params, _ in
            DatasetDescription(entry: try self.workspace.addDataset(try self.loadDataset(params))).json
        }
        table.register(DatasetGenerate.self, execution: .background) { params, _ in
            DatasetDescription(entry: try self.workspace.addDataset(try self.generate(params))).json
        }
        table.register(DatasetList.self) { _, _ in
            ["datasets": .array(self.workspace.datasets().map { DatasetDescription(entry: $0).json })]
        }
        table.register(DatasetDispose.self) { params, _ in
            ["disposed": .string(try self.workspace.disposeDataset(params.dataset))]
        }
    }

    /// Loads a data set from files (not yet added to the workspace).
    func loadDataset(_ params: DatasetLoad.Params) throws(RPCError) -> Dataset {
        let limit = workspace.limits.maxDatasetBytes
        var dataset: Dataset
        do throws(DatasetError) {
            switch params.source {
            case .npy(let inputs, let targets, let classes):
                dataset = try Dataset.loadNPY(
                    inputs: inputs, targets: targets, name: params.name, classCount: classes, maxBytes: limit)
            case .csv(let path, var options):
                options.maxBytes = limit
                dataset = try Dataset.loadCSV(path: path, options: options, name: params.name)
            case .idx(let images, let labels, let scale, let classes):
                dataset = try Dataset.loadIDX(
                    images: images, labels: labels, scaleToUnitInterval: scale,
                    name: params.name, classCount: classes, maxBytes: limit)
            }
        } catch {
            throw Self.rpcError(error, limit: workspace.limits.maxDatasetBytes)
        }
        if let name = params.name { dataset.name = name }
        return dataset
    }

    /// Generates a data set (not yet added to the workspace).
    func generate(_ generator: DatasetGenerator) throws(RPCError) -> Dataset {
        do throws(DatasetError) {
            return try generator.generate(maxBytes: workspace.limits.maxDatasetBytes)
        } catch {
            throw Self.rpcError(error, limit: workspace.limits.maxDatasetBytes)
        }
    }

    /// Data-set errors as the client sees them: limits as -31002, parameter mistakes as -32602,
    /// everything about a file as -31004.
    /// `limit` is `--max-dataset-bytes`, named in the answer with its flag.
    static func rpcError(_ error: DatasetError, limit: Int) -> RPCError {
        switch error.kind {
        case .tooLarge:
            return RPCError(
                .limitExceeded,
                "data-set bytes limit is \(limit): \(error.message); raise it with --max-dataset-bytes or ask for less",
                data: ["limit": "data-set bytes", "value": .int(Int64(limit))])
        case .invalidParameters: return .invalidParams(error.message)
        default: return .fileError(error.message)
        }
    }
}
