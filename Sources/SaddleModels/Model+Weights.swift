extension Model {
    /// Replaces the parameters with the tensors of a safetensors file named as ``blocks`` name them.
    ///
    /// Every expected name must be present with the expected shape and a floating-point dtype (F16,
    /// BF16, F32, F64); extra names are an error too, so a file for another architecture is never half
    /// loaded. One error lists every missing, unexpected and mis-shaped name. On error the model is
    /// unchanged.
    public mutating func loadWeights(from file: Safetensors) throws(ModelError) {
        var problems: [String] = []
        let expected = Set(blocks.map(\.name))
        let missing = blocks.map(\.name).filter { file.tensors[$0] == nil }
        if !missing.isEmpty { problems.append("missing: \(missing.joined(separator: ", "))") }
        let unexpected = file.tensors.keys.filter { !expected.contains($0) }.sorted()
        if !unexpected.isEmpty { problems.append("unexpected: \(unexpected.joined(separator: ", "))") }
        var misshaped: [String] = []
        for block in blocks {
            guard let info = file.tensors[block.name] else { continue }
            if info.shape != block.shape {
                misshaped.append("\(block.name) has shape \(info.shape), expected \(block.shape)")
            } else if info.dtype == .i64 {
                misshaped.append("\(block.name) has dtype I64, expected a floating-point dtype")
            }
        }
        if !misshaped.isEmpty { problems.append("mis-shaped: \(misshaped.joined(separator: "; "))") }
        if !problems.isEmpty {
            throw .weightsMismatch("the weights do not match the model: \(problems.joined(separator: "; "))")
        }
        var p = parameters
        for block in blocks {
            let values = try file.doubles(block.name)
            p.replaceSubrange(block.range, with: values)
        }
        parameters = p
    }

    /// Reads a safetensors file and loads it with ``loadWeights(from:)``.
    public mutating func loadWeights(safetensorsAt path: String) throws(ModelError) {
        try loadWeights(from: Safetensors(contentsOf: path))
    }

    /// The parameters as safetensors bytes, one tensor per block, F32 or F64.
    public func weightsBytes(dtype: Safetensors.DType = .f64) throws(ModelError) -> [UInt8] {
        try Safetensors.encode(
            blocks.map { ($0.name, $0.shape, Array(parameters[$0.range])) }, dtype: dtype,
            metadata: ["format": "pt"])
    }

    /// Writes the parameters to a safetensors file (F32 or F64) that PyTorch's `load_file` reads.
    public func saveWeights(to path: String, dtype: Safetensors.DType = .f64) throws(ModelError) {
        try WeightFiles.write(weightsBytes(dtype: dtype), to: path)
    }
}
