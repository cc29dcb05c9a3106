/// A named contiguous block of the flat parameter vector (one layer's weights, say).
public struct ParameterBlock: Sendable, Equatable {
    public var name: String
    public var range: Range<Int>

    public init(name: String, range: Range<Int>) {
        self.name = name
        self.range = range
    }
}

/// Curvature of one block of parameters: Lanczos and Hutchinson on the diagonal block H[r, r]
/// through ``RestrictedOperator`` (every block product costs one full product).
public enum BlockCurvature {
    /// One block's results.
    public struct Summary: Sendable {
        public var name: String
        /// The block's indices are lowerBound..<upperBound.
        public var lowerBound: Int
        public var upperBound: Int
        public var eigen: Lanczos.Result
        /// nil when no trace was requested.
        public var trace: Hutchinson.Result?
    }

    public static func eigen<Op: SymmetricOperator>(
        _ op: Op, block: ParameterBlock, options: Lanczos.Options = Lanczos.Options(), control: CurvatureControl = .none
    ) throws -> Lanczos.Result {
        try Lanczos.eigen(restricted(op, block), options: options, control: control)
    }

    public static func trace<Op: SymmetricOperator>(
        _ op: Op, block: ParameterBlock, options: Hutchinson.Options = Hutchinson.Options(),
        control: CurvatureControl = .none
    ) throws -> Hutchinson.Result {
        try Hutchinson.trace(restricted(op, block), options: options, control: control)
    }

    /// Lanczos (and Hutchinson when `traceOptions` is given) on every block, in order. Progress is
    /// reported as one share per block. Blocks may overlap; each is computed on its own.
    public static func summarize<Op: SymmetricOperator>(
        _ op: Op, blocks: [ParameterBlock], eigenOptions: Lanczos.Options = Lanczos.Options(),
        traceOptions: Hutchinson.Options? = nil, control: CurvatureControl = .none
    ) throws -> [Summary] {
        guard !blocks.isEmpty else { throw CurvatureError.invalidArgument("`blocks` must name at least one block") }
        let operators = try blocks.map { try restricted(op, $0) }
        var out: [Summary] = []
        for (i, (block, sub)) in zip(blocks, operators).enumerated() {
            let share = control.share(i, of: blocks.count, label: "block \(block.name)")
            let eigen = try Lanczos.eigen(sub, options: eigenOptions, control: share)
            let trace = try traceOptions.map { try Hutchinson.trace(sub, options: $0, control: share) }
            out.append(
                Summary(
                    name: block.name, lowerBound: block.range.lowerBound, upperBound: block.range.upperBound,
                    eigen: eigen, trace: trace))
        }
        return out
    }

    static func restricted<Op: SymmetricOperator>(_ op: Op, _ block: ParameterBlock) throws -> RestrictedOperator<Op> {
        do {
            return try RestrictedOperator(op, range: block.range)
        } catch {
            throw CurvatureError.invalidArgument("block `\(block.name)`: \(error.description)")
        }
    }
}

extension CurvatureControl {
    /// The same cancellation, with progress mapped into part `index` of `count` equal parts and
    /// the message prefixed with `label`.
    func share(_ index: Int, of count: Int, label: String) -> CurvatureControl {
        let parent = progress
        return CurvatureControl(
            checkCancelled: checkCancelled,
            progress: { fraction, message in parent((Double(index) + fraction) / Double(count), "\(label): \(message)") })
    }
}
