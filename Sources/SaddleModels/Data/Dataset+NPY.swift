extension Dataset {
    /// The default limit on the bytes one file may hold (after decompression): 1 GiB.
    public static let defaultMaxBytes = 1 << 30

    /// Loads inputs from one `.npy` file and targets from another, as the ground-truth scenarios
    /// store them: `x.npy` is `[N, in]` (or `[N]`, one input per sample) and `y.npy` is either
    /// floating `[N, out]` / `[N]` (regression targets) or integer `[N]` / `[N, 1]` (class indices).
    ///
    /// - Parameters:
    ///   - classCount: the number of classes for integer targets; by default the largest label + 1.
    ///   - maxBytes: the limit for each file; larger files are refused before they are read whole.
    /// - Throws: `DatasetError` naming the file, and for NaN/∞ or bad labels the row and column.
    public static func loadNPY(
        inputs inputsPath: String, targets targetsPath: String, name: String? = nil, classCount: Int? = nil,
        maxBytes: Int = defaultMaxBytes
    ) throws(DatasetError) -> Dataset {
        let x = try NPY.read(path: inputsPath, maxBytes: maxBytes)
        let y = try NPY.read(path: targetsPath, maxBytes: maxBytes)
        guard x.shape.count == 1 || x.shape.count == 2 else {
            throw DatasetError(
                .shapeMismatch, file: inputsPath,
                "\(inputsPath): inputs must have shape [N, features] (or [N]), got \(NPY.shapeText(x.shape)); reshape to 2-D, e.g. a.reshape(len(a), -1)"
            )
        }
        let samples = x.shape[0]
        let width = x.shape.count == 2 ? x.shape[1] : 1
        guard width > 0 else {
            throw DatasetError(
                .shapeMismatch, file: inputsPath, "\(inputsPath): inputs have no features (shape \(NPY.shapeText(x.shape)))")
        }
        guard y.shape.first == samples, y.shape.count == 1 || y.shape.count == 2 else {
            throw DatasetError(
                .shapeMismatch, file: targetsPath,
                "\(targetsPath): targets have shape \(NPY.shapeText(y.shape)) but \(inputsPath) has \(samples) rows; targets must be [\(samples), outputs] or [\(samples)]"
            )
        }
        let inputs = x.doubles
        if let bad = inputs.firstIndex(where: { !$0.isFinite }) {
            throw DatasetError(
                .nonFinite, file: inputsPath,
                "\(inputsPath): value at row \(bad / width), column \(bad % width) is \(inputs[bad]); remove or impute NaN and infinite values before loading"
            )
        }
        let targets: DatasetTargets
        switch y.values {
        case .integer(let labels):
            guard y.shape.count == 1 || y.shape[1] == 1 else {
                throw DatasetError(
                    .shapeMismatch, file: targetsPath,
                    "\(targetsPath): integer targets are class indices and must be [N] or [N, 1], got \(NPY.shapeText(y.shape)); save one-hot or multi-output targets as float64"
                )
            }
            targets = try classTargets(labels, file: targetsPath, classCount: classCount)
        case .floating(let values):
            let outWidth = y.shape.count == 2 ? y.shape[1] : 1
            guard outWidth > 0 else {
                throw DatasetError(
                    .shapeMismatch, file: targetsPath, "\(targetsPath): targets have no columns (shape \(NPY.shapeText(y.shape)))"
                )
            }
            if let bad = values.firstIndex(where: { !$0.isFinite }) {
                throw DatasetError(
                    .nonFinite, file: targetsPath,
                    "\(targetsPath): value at row \(bad / outWidth), column \(bad % outWidth) is \(values[bad]); remove or impute NaN and infinite values before loading"
                )
            }
            targets = .regression(values, width: outWidth)
        }
        return try Dataset(
            name: name ?? fileStem(inputsPath), inputs: inputs, inputWidth: width, targets: targets,
            provenance:
                "npy: inputs \(inputsPath) \(NPY.shapeText(x.shape)) \(x.element.rawValue), targets \(targetsPath) \(NPY.shapeText(y.shape)) \(y.element.rawValue)"
        )
    }

    /// Class targets from integer labels, checking each is a valid index (naming the row otherwise).
    static func classTargets(_ labels: [Int64], file: String, classCount: Int?) throws(DatasetError) -> DatasetTargets {
        if let classCount, classCount < 1 || classCount > Int(Int32.max) {
            throw DatasetError(.invalidParameters, file: file, "classCount must be between 1 and \(Int32.max), got \(classCount)")
        }
        let limit = Int64(classCount ?? Int(Int32.max))
        if let bad = labels.firstIndex(where: { $0 < 0 || $0 >= limit }) {
            let range = classCount.map { "0…\($0 - 1)" } ?? "non-negative"
            throw DatasetError(
                .badLabel, file: file,
                "\(file): class label at row \(bad) is \(labels[bad]); labels must be \(range) class indices")
        }
        let count = classCount ?? Int((labels.max() ?? 0) + 1)
        return .classes(labels.map { Int32($0) }, classCount: count)
    }

    /// A default name from a path: the parent folder and the file name without extension
    /// (`scenarios/c_logreg/x.npy` → `c_logreg/x`).
    static func fileStem(_ path: String) -> String {
        let parts = path.split(separator: "/").map(String.init)
        var last = parts.last ?? path
        if let dot = last.firstIndex(of: "."), dot != last.startIndex { last = String(last[..<dot]) }
        return parts.count >= 2 ? "\(parts[parts.count - 2])/\(last)" : last
    }
}
