import Synchronization

/// A data set's inputs rounded to single precision (`Float(x)`, to nearest), built on first use and
/// shared by every copy of the data set: a single-precision batch is then a plain copy of rows (half the
/// bytes to read, no conversion) instead of a conversion per step. Costs half the inputs' bytes again,
/// held while any copy of the data set lives, and only once a single-precision batch was asked for.
final class SinglePrecisionInputs: Sendable {
    private let storage = Mutex<[Float]?>(nil)

    /// The converted inputs; the first caller converts (under the lock, so concurrent loaders wait for it
    /// rather than converting twice).
    func values(of inputs: [Double]) -> [Float] {
        storage.withLock { cached -> [Float] in
            if let cached { return cached }
            let count = inputs.count
            let converted = [Float](unsafeUninitializedCapacity: count) { out, initialized in
                inputs.withUnsafeBufferPointer { source in
                    if let from = source.baseAddress, let to = out.baseAddress { convertRow(from, to, count: count) }
                }
                initialized = count
            }
            cached = converted
            return converted
        }
    }
}
