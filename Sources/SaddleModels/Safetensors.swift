import SaddleJSON

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// A safetensors file (the Hugging Face format PyTorch users save state dicts in), held in memory.
///
/// Layout: an 8-byte little-endian header length N, N bytes of JSON header
/// (`{"name": {"dtype": "F64", "shape": [16, 2], "data_offsets": [begin, end]}, "__metadata__": {…}}`),
/// then the data, offsets relative to its start. Reading validates the header size (at most
/// ``maxHeaderBytes``), every dtype, shape and offset pair, that each tensor's byte length equals its
/// element count times the dtype's size, that tensors do not overlap and lie inside the file.
/// Reads F16, BF16, F32, F64 (converted to Double) and I64; writes F32 or F64.
public struct Safetensors: Sendable {
    /// Element types. Floating types convert to Double on reading.
    public enum DType: String, Sendable, CaseIterable {
        case f16 = "F16", bf16 = "BF16", f32 = "F32", f64 = "F64", i64 = "I64"
        public var byteSize: Int {
            switch self {
            case .f16, .bf16: 2
            case .f32: 4
            case .f64, .i64: 8
            }
        }
    }

    /// One tensor's header entry; `bytes` is the range inside ``data``.
    public struct TensorInfo: Sendable, Equatable {
        public let dtype: DType
        public let shape: [Int]
        public let bytes: Range<Int>
        public var elementCount: Int { shape.reduce(1, *) }
    }

    /// The bound on the header's length, as in the reference implementation (100 MB).
    public static let maxHeaderBytes = 100_000_000

    public let tensors: [String: TensorInfo]
    public let metadata: [String: String]
    /// The data section (everything after the header).
    public let data: [UInt8]

    /// Parses a whole file's bytes.
    public init(bytes: [UInt8]) throws(ModelError) {
        guard bytes.count >= 8 else {
            throw .safetensors("the file is \(bytes.count) bytes long, too short for the 8-byte header length")
        }
        var length: UInt64 = 0
        for i in 0..<8 { length |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard length <= UInt64(Self.maxHeaderBytes) else {
            throw .safetensors("the header length \(length) exceeds the limit of \(Self.maxHeaderBytes) bytes")
        }
        let headerEnd = 8 + Int(length)
        guard headerEnd <= bytes.count else {
            throw .safetensors(
                "the header claims \(length) bytes but the file has only \(bytes.count - 8) after the length; the file is truncated"
            )
        }
        let header: JSON
        do { header = try JSON.parse(Array(bytes[8..<headerEnd])) } catch {
            throw .safetensors("the header is not valid JSON: \(error)")
        }
        guard case .object(let members) = header else { throw .safetensors("the header must be a JSON object") }
        let dataLength = bytes.count - headerEnd
        var tensors: [String: TensorInfo] = [:]
        var metadata: [String: String] = [:]
        for (name, entry) in members {
            if name == "__metadata__" {
                guard case .object(let meta) = entry else { throw .safetensors("`__metadata__` must be an object of strings") }
                for (k, v) in meta {
                    guard case .string(let s) = v else { throw .safetensors("`__metadata__.\(k)` must be a string") }
                    metadata[k] = s
                }
                continue
            }
            tensors[name] = try Self.tensorInfo(name: name, entry: entry, dataLength: dataLength)
        }
        let sorted = tensors.sorted { $0.value.bytes.lowerBound < $1.value.bytes.lowerBound }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.value.bytes.upperBound > b.value.bytes.lowerBound {
            throw .safetensors("tensors `\(a.key)` and `\(b.key)` overlap in the data section")
        }
        self.tensors = tensors
        self.metadata = metadata
        data = Array(bytes[headerEnd...])
    }

    private static func tensorInfo(name: String, entry: JSON, dataLength: Int) throws(ModelError) -> TensorInfo {
        guard case .object = entry else { throw .safetensors("tensor `\(name)` must be described by an object") }
        guard let raw = entry["dtype"]?.stringValue else { throw .safetensors("tensor `\(name)` has no string `dtype`") }
        guard let dtype = DType(rawValue: raw) else {
            throw .safetensors(
                "tensor `\(name)` has dtype \(raw); supported: \(DType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let dims = entry["shape"]?.arrayValue else { throw .safetensors("tensor `\(name)` has no `shape` array") }
        var shape: [Int] = []
        var count = 1
        for d in dims {
            guard let v = d.int64Value, v >= 0, v < 1 << 40 else {
                throw .safetensors("tensor `\(name)` has an invalid dimension \(d.kindDescription) in its shape")
            }
            shape.append(Int(v))
            let (product, overflow) = count.multipliedReportingOverflow(by: Int(v))
            if overflow || product > 1 << 40 { throw .safetensors("tensor `\(name)` has too many elements") }
            count = product
        }
        guard let offsets = entry["data_offsets"]?.arrayValue, offsets.count == 2,
            let begin = offsets[0].int64Value, let end = offsets[1].int64Value
        else { throw .safetensors("tensor `\(name)` needs `data_offsets` as two integers [begin, end]") }
        guard begin >= 0, begin <= end, end <= Int64(dataLength) else {
            throw .safetensors(
                "tensor `\(name)` has data_offsets [\(begin), \(end)] outside the \(dataLength)-byte data section; the file may be truncated"
            )
        }
        guard Int(end - begin) == count * dtype.byteSize else {
            throw .safetensors(
                "tensor `\(name)` spans \(end - begin) bytes but shape \(shape) of \(raw) needs \(count * dtype.byteSize)")
        }
        return TensorInfo(dtype: dtype, shape: shape, bytes: Int(begin)..<Int(end))
    }

    /// Reads a file from disk, refusing one larger than `maxBytes`.
    public init(contentsOf path: String, maxBytes: Int = 1 << 34) throws(ModelError) {
        let bytes: [UInt8]
        do {
            bytes = try FileBytes.read(path, maxBytes: maxBytes, what: "weights file")
        } catch {
            throw .io(error.message)
        }
        try self.init(bytes: bytes)
    }

    /// A floating-point tensor's values as Double (row-major). Throws for a missing name or an I64 tensor.
    public func doubles(_ name: String) throws(ModelError) -> [Double] {
        guard let info = tensors[name] else { throw .safetensors("no tensor named `\(name)`") }
        let n = info.elementCount, start = info.bytes.lowerBound
        var out = [Double](repeating: 0, count: n)
        data.withUnsafeBytes { raw in
            func load<U: FixedWidthInteger>(_: U.Type, _ i: Int) -> U {
                var v: U = 0
                withUnsafeMutableBytes(of: &v) { dst in
                    dst.copyMemory(
                        from: UnsafeRawBufferPointer(
                            rebasing: raw[(start + i * U.bitWidth / 8)..<(start + (i + 1) * U.bitWidth / 8)]))
                }
                return U(littleEndian: v)
            }
            switch info.dtype {
            case .f64: for i in 0..<n { out[i] = Double(bitPattern: load(UInt64.self, i)) }
            case .f32: for i in 0..<n { out[i] = Double(Float(bitPattern: load(UInt32.self, i))) }
            case .bf16: for i in 0..<n { out[i] = Double(Float(bitPattern: UInt32(load(UInt16.self, i)) << 16)) }
            case .f16: for i in 0..<n { out[i] = Self.halfToDouble(load(UInt16.self, i)) }
            case .i64: for i in 0..<n { out[i] = Double(Int64(bitPattern: load(UInt64.self, i))) }
            }
        }
        return out
    }

    /// IEEE binary16 to Double, including subnormals, infinities and NaN.
    static func halfToDouble(_ h: UInt16) -> Double {
        let sign: Double = h & 0x8000 != 0 ? -1 : 1
        let exponent = Int((h >> 10) & 0x1F), fraction = Double(h & 0x3FF)
        switch exponent {
        case 0: return sign * fraction * 0x1p-24
        case 31: return fraction == 0 ? sign * .infinity : .nan
        default: return sign * (1 + fraction / 1024) * Double(sign: .plus, exponent: exponent - 15, significand: 1)
        }
    }

    /// Encodes named tensors (in the given order) as F32 or F64, with 8-byte-aligned header padding.
    public static func encode(
        _ entries: [(name: String, shape: [Int], values: [Double])], dtype: DType,
        metadata: [String: String] = [:]
    ) throws(ModelError) -> [UInt8] {
        guard dtype == .f32 || dtype == .f64 else { throw .safetensors("can write F32 or F64, not \(dtype.rawValue)") }
        var header: [String: JSON] = [:]
        if !metadata.isEmpty { header["__metadata__"] = .object(metadata.mapValues { .string($0) }) }
        var offset = 0
        for e in entries {
            let bytes = e.values.count * dtype.byteSize
            header[e.name] = .object([
                "dtype": .string(dtype.rawValue), "shape": .array(e.shape.map { .int($0) }),
                "data_offsets": .array([.int(offset), .int(offset + bytes)]),
            ])
            offset += bytes
        }
        var headerBytes: [UInt8]
        do { headerBytes = try JSON.object(header).serialized() } catch {
            throw .safetensors("cannot encode the header: \(error)")
        }
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }
        var out: [UInt8] = []
        out.reserveCapacity(8 + headerBytes.count + offset)
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: headerBytes)
        for e in entries {
            for v in e.values {
                if dtype == .f64 {
                    withUnsafeBytes(of: v.bitPattern.littleEndian) { out.append(contentsOf: $0) }
                } else {
                    withUnsafeBytes(of: Float(v).bitPattern.littleEndian) { out.append(contentsOf: $0) }
                }
            }
        }
        return out
    }
}

/// Whole-file writes through the C library, with errors that name the path (reads go through `FileBytes`).
enum WeightFiles {
    static func write(_ bytes: [UInt8], to path: String) throws(ModelError) {
        guard let file = fopen(path, "wb") else { throw .io("cannot create \(path): \(String(cString: strerror(errno)))") }
        let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        let closed = fclose(file)
        if written != bytes.count || closed != 0 { throw .io("cannot write \(path) (wrote \(written) of \(bytes.count) bytes)") }
    }
}
