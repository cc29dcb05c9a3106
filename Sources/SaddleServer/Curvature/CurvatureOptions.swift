import SaddleCurvature
import SaddleJSON
import SaddleModels

/// A part of the parameter vector to restrict curvature to: a block by its state-dict name
/// (`"2.weight"`) or every block of one top-level layer (`2`). Read from `params.block`.
enum BlockSelector: Sendable, Equatable {
    case name(String)
    case layer(Int)

    /// Reads a string (block name) or a non-negative integer (layer index); nil when absent.
    static func read(_ reader: JSONReader) throws(JSONShapeError) -> BlockSelector? {
        if reader.isAbsent { return nil }
        if case .string? = reader.value { return .name(try reader.string(nonEmpty: true)) }
        return .layer(try reader.int(min: 0))
    }

    /// The contiguous range of `model`'s flat parameter vector it names (a layer's blocks are
    /// adjacent: each layer's weight, then its bias). Throws -32602 naming `params.block` and the
    /// blocks the model has when nothing matches.
    func resolve(in model: Model) throws(JSONShapeError) -> (label: String, range: Range<Int>) {
        let blocks = model.blocks
        let matching: [SaddleModels.ParameterBlock]
        let label: String
        switch self {
        case .name(let name):
            matching = blocks.filter { $0.name == name }
            label = name
        case .layer(let layer):
            matching = blocks.filter { $0.layer == layer }
            label = "layer \(layer)"
        }
        guard let lower = matching.map(\.range.lowerBound).min(), let upper = matching.map(\.range.upperBound).max() else {
            let names = blocks.map { "\"\($0.name)\" (layer \($0.layer))" }.joined(separator: ", ")
            throw JSONShapeError(
                path: "params.block",
                message: "names no parameters of the model; its blocks are \(names.isEmpty ? "none" : names)")
        }
        return (label, lower..<upper)
    }
}

/// The options every operator-based curvature request shares: which operator, which block, and
/// (for estimates) how many disjoint data subsets to compare.
struct OperatorOptions: Sendable {
    var kind: HessianOperator.Kind
    var block: BlockSelector?
    /// S ≥ 2 disjoint subsets of the selected samples, or nil for one estimate on all of them.
    var subsets: Int?

    static let fields: Set<String> = ["operator", "block", "subsets"]

    init(from reader: JSONReader, allowSubsets: Bool = true) throws(JSONShapeError) {
        kind = try reader["operator"].enumCase(HessianOperator.Kind.self, default: .hessian)
        block = try BlockSelector.read(reader["block"])
        subsets = allowSubsets ? try reader["subsets"].optionalInt(min: 2, max: 1024) : nil
    }
}

/// Reads a seed: a non-negative integer (default 0).
func readSeed(_ reader: JSONReader) throws(JSONShapeError) -> UInt64 {
    UInt64(try reader.int(default: 0, min: 0))
}
