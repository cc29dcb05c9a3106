/// The spec compiled to a flat list of nodes over numbered buffers; buffer 0 is the input.
///
/// Each node reads its input buffer(s) and writes a fresh output buffer, so the forward pass keeps every
/// value the backward and R-operator passes need. `accumulate…` flags say whether a node adds into an
/// input's gradient already written by a later node (the skip path of a residual block).
struct ModelPlan: Sendable {
    struct Dense: Sendable {
        var input: Int, output: Int, inWidth: Int, outWidth: Int, weight: Int, bias: Int?, accumulate: Bool
    }
    struct ActivationNode: Sendable {
        var input: Int, output: Int, width: Int, activation: Activation, accumulate: Bool
        var module: String, layer: Int
    }
    struct LayerNorm: Sendable {
        var input: Int, output: Int, width: Int, scale: Int, shift: Int, eps: Double, accumulate: Bool, slot: Int
    }
    struct Add: Sendable {
        var input: Int, skip: Int, output: Int, width: Int, accumulateInput: Bool, accumulateSkip: Bool
    }
    enum Node: Sendable {
        case dense(Dense), activation(ActivationNode), layerNorm(LayerNorm), add(Add)
    }

    private(set) var bufferWidths: [Int]
    private(set) var nodes: [Node] = []
    private(set) var blocks: [ParameterBlock] = []
    private(set) var parameterCount = 0
    private(set) var layerNormCount = 0
    /// Dense layers in order with their fan-in/fan-out and initializer, for initialization.
    private(set) var denseLayers: [(weight: Range<Int>, bias: Range<Int>?, fanIn: Int, fanOut: Int, initializer: Initializer)] =
        []
    /// Layernorm scale ranges (initialized to 1).
    private(set) var normScales: [Range<Int>] = []

    var outputBuffer: Int { bufferWidths.count - 1 }
    var outputWidth: Int { bufferWidths[outputBuffer] }

    init(spec: ModelSpec) {
        bufferWidths = [spec.input]
        _ = sequence(spec.layers, prefix: "", input: 0, top: nil)
        markAccumulation()
    }

    private mutating func newBuffer(_ width: Int) -> Int {
        bufferWidths.append(width)
        return bufferWidths.count - 1
    }

    private mutating func block(_ name: String, _ shape: [Int], layer: Int, role: ParameterBlock.Role) -> Range<Int> {
        let count = shape.reduce(1, *)
        let range = parameterCount..<(parameterCount + count)
        blocks.append(ParameterBlock(name: name, range: range, layer: layer, shape: shape, role: role))
        parameterCount += count
        return range
    }

    private mutating func sequence(_ layers: [LayerSpec], prefix: String, input: Int, top: Int?) -> Int {
        var module = 0
        var buffer = input
        for (index, layer) in layers.enumerated() {
            let layerIndex = top ?? index
            let name = "\(prefix)\(module)"
            let width = bufferWidths[buffer]
            switch layer {
            case .dense(let d):
                let w = block("\(name).weight", [d.units, width], layer: layerIndex, role: .weight)
                let b = d.bias ? block("\(name).bias", [d.units], layer: layerIndex, role: .bias) : nil
                denseLayers.append((w, b, width, d.units, d.initializer))
                let out = newBuffer(d.units)
                nodes.append(
                    .dense(
                        Dense(
                            input: buffer, output: out, inWidth: width, outWidth: d.units,
                            weight: w.lowerBound, bias: b?.lowerBound, accumulate: false)))
                buffer = out
                module += 1
                if d.activation != .identity {
                    buffer = appendActivation(d.activation, input: buffer, module: "\(prefix)\(module)", layer: layerIndex)
                    module += 1
                }
            case .activation(let a):
                buffer = appendActivation(a, input: buffer, module: name, layer: layerIndex)
                module += 1
            case .layerNorm(let eps):
                let scale = block("\(name).weight", [width], layer: layerIndex, role: .normScale)
                let shift = block("\(name).bias", [width], layer: layerIndex, role: .normShift)
                normScales.append(scale)
                let out = newBuffer(width)
                nodes.append(
                    .layerNorm(
                        LayerNorm(
                            input: buffer, output: out, width: width, scale: scale.lowerBound,
                            shift: shift.lowerBound, eps: eps, accumulate: false,
                            slot: layerNormCount)))
                layerNormCount += 1
                buffer = out
                module += 1
            case .residual(let inner):
                let end = sequence(inner, prefix: "\(name).layers.", input: buffer, top: layerIndex)
                let out = newBuffer(width)
                nodes.append(
                    .add(
                        Add(
                            input: end, skip: buffer, output: out, width: width,
                            accumulateInput: false, accumulateSkip: false)))
                buffer = out
                module += 1
            }
        }
        return buffer
    }

    private mutating func appendActivation(_ a: Activation, input: Int, module: String, layer: Int) -> Int {
        let width = bufferWidths[input]
        let out = newBuffer(width)
        nodes.append(
            .activation(
                ActivationNode(
                    input: input, output: out, width: width, activation: a,
                    accumulate: false, module: module, layer: layer)))
        return out
    }

    /// Walks the nodes backwards; a node accumulates into an input gradient that a later node wrote.
    private mutating func markAccumulation() {
        var written = Set<Int>()
        func mark(_ buffer: Int) -> Bool { !written.insert(buffer).inserted }
        for i in nodes.indices.reversed() {
            switch nodes[i] {
            case .dense(var n): n.accumulate = mark(n.input); nodes[i] = .dense(n)
            case .activation(var n): n.accumulate = mark(n.input); nodes[i] = .activation(n)
            case .layerNorm(var n): n.accumulate = mark(n.input); nodes[i] = .layerNorm(n)
            case .add(var n):
                n.accumulateInput = mark(n.input)
                n.accumulateSkip = mark(n.skip)
                nodes[i] = .add(n)
            }
        }
    }
}
