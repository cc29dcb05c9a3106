import SaddleJSON
import SaddleModels

/// What the daemon says about a data set.
struct DatasetDescription: JSONEncodable {
    var entry: Workspace.DatasetEntry
    var json: JSON {
        let d = entry.dataset
        var members: [String: JSON] = [
            "id": .string(entry.id), "name": .string(d.name), "samples": .int(d.sampleCount),
            "inputWidth": .int(d.inputWidth), "targetWidth": .int(d.targetWidth), "bytes": .int(d.byteSize),
            "provenance": .string(d.provenance),
        ]
        switch d.targets {
        case .classes(_, let classCount):
            members["targets"] = "classes"
            members["classes"] = .int(classCount)
        case .regression:
            members["targets"] = "regression"
        }
        return .object(members)
    }
}
