/// A numeric array read from an IDX file (the MNIST format).
public struct IDXArray: Sendable, Equatable {
    /// IDX element types, by their type byte.
    public enum Element: UInt8, Sendable, Equatable {
        case uint8 = 0x08, int8 = 0x09, int16 = 0x0B, int32 = 0x0C, float32 = 0x0D, float64 = 0x0E
        var byteCount: Int {
            switch self {
            case .uint8, .int8: return 1
            case .int16: return 2
            case .int32, .float32: return 4
            case .float64: return 8
            }
        }
        var isInteger: Bool { self != .float32 && self != .float64 }
    }

    public let shape: [Int]
    public let element: Element
    /// Row-major values widened to `Double` (exact for every IDX type).
    public let values: [Double]
}

/// Reads IDX files (magic `00 00 tt nd`, big-endian 32-bit extents, big-endian data), raw or
/// gzip-compressed (`.gz`, detected by content). MNIST's files are `0x0803` (uint8, 3-D images)
/// and `0x0801` (uint8 labels).
public enum IDX {
    public static func read(path: String, maxBytes: Int) throws(DatasetError) -> IDXArray {
        try parse(try FileBytes.read(path, maxBytes: maxBytes, what: "IDX file"), file: path)
    }

    public static func parse(_ bytes: [UInt8], file: String) throws(DatasetError) -> IDXArray {
        func fail(_ kind: DatasetError.Kind, _ message: String) -> DatasetError {
            DatasetError(kind, file: file, "\(file): \(message)")
        }
        guard bytes.count >= 4 else {
            throw fail(.truncated, "file has \(bytes.count) bytes, too short for the 4-byte IDX magic; the file is truncated")
        }
        guard bytes[0] == 0, bytes[1] == 0 else {
            throw fail(
                .badFormat,
                "not an IDX file: the magic number must start with two zero bytes, got \(String(format2: bytes[0])) \(String(format2: bytes[1])); gzip files are detected automatically, other formats are not supported"
            )
        }
        guard let element = IDXArray.Element(rawValue: bytes[2]) else {
            throw fail(
                .unsupportedType,
                "IDX type byte 0x\(String(format2: bytes[2])) is not one of 08 (uint8), 09 (int8), 0B (int16), 0C (int32), 0D (float32), 0E (float64)"
            )
        }
        let rank = Int(bytes[3])
        guard rank >= 1 else { throw fail(.badFormat, "IDX file declares 0 dimensions; it needs at least one") }
        let dataStart = 4 + 4 * rank
        guard bytes.count >= dataStart else {
            throw fail(
                .truncated, "file ends after \(bytes.count) bytes, inside the \(rank) dimension sizes; the file is truncated")
        }
        var shape: [Int] = []
        var count = 1
        for d in 0..<rank {
            let extent = Int(bytes.loadBE(UInt32.self, at: 4 + 4 * d))
            shape.append(extent)
            let (product, overflow) = count.multipliedReportingOverflow(by: extent)
            guard !overflow else { throw fail(.badFormat, "dimensions \(shape) are too large") }
            count = product
        }
        let needed = count * element.byteCount
        let available = bytes.count - dataStart
        guard available >= needed else {
            throw fail(
                .truncated,
                "dimensions \(shape) of \(element) need \(needed) data bytes but the file has \(available); the file is truncated, download it again"
            )
        }
        var values = [Double](repeating: 0, count: count)
        for i in 0..<count {
            let o = dataStart + i * element.byteCount
            switch element {
            case .uint8: values[i] = Double(bytes[o])
            case .int8: values[i] = Double(Int8(bitPattern: bytes[o]))
            case .int16: values[i] = Double(Int16(bitPattern: bytes.loadBE(UInt16.self, at: o)))
            case .int32: values[i] = Double(Int32(bitPattern: bytes.loadBE(UInt32.self, at: o)))
            case .float32: values[i] = Double(Float(bitPattern: bytes.loadBE(UInt32.self, at: o)))
            case .float64: values[i] = Double(bitPattern: bytes.loadBE(UInt64.self, at: o))
            }
        }
        return IDXArray(shape: shape, element: element, values: values)
    }
}

extension String {
    /// Two hex digits.
    init(format2 byte: UInt8) {
        let s = String(byte, radix: 16, uppercase: true)
        self = s.count == 1 ? "0" + s : s
    }
}

extension Dataset {
    /// Loads an IDX image file and an IDX label file (MNIST and Fashion-MNIST layout), raw or gzipped.
    ///
    /// Each image (all dimensions after the first) becomes one row of inputs. Integer labels of
    /// shape `[N]` become class indices; floating labels become regression targets.
    /// - Parameters:
    ///   - scaleToUnitInterval: divide uint8 pixels by 255 so inputs lie in [0, 1]; refused for
    ///     other element types, whose range is not known.
    ///   - maxBytes: the limit for each file, applied to the decompressed size of gzip files.
    public static func loadIDX(
        images imagesPath: String, labels labelsPath: String, scaleToUnitInterval: Bool = true,
        name: String? = nil, classCount: Int? = nil, maxBytes: Int = defaultMaxBytes
    ) throws(DatasetError) -> Dataset {
        let x = try IDX.read(path: imagesPath, maxBytes: maxBytes)
        let y = try IDX.read(path: labelsPath, maxBytes: maxBytes)
        let samples = x.shape[0]
        let width = x.shape.dropFirst().reduce(1, *)
        guard width > 0 else {
            throw DatasetError(.shapeMismatch, file: imagesPath, "\(imagesPath): images have no pixels (dimensions \(x.shape))")
        }
        guard y.shape[0] == samples else {
            throw DatasetError(
                .shapeMismatch, file: labelsPath,
                "\(labelsPath): has \(y.shape[0]) labels but \(imagesPath) has \(samples) images; give the matching label file")
        }
        var inputs = x.values
        if scaleToUnitInterval {
            guard x.element == .uint8 else {
                throw DatasetError(
                    .invalidParameters, file: imagesPath,
                    "\(imagesPath): scaleToUnitInterval divides uint8 pixels by 255, but this file holds \(x.element); turn scaling off"
                )
            }
            for i in inputs.indices { inputs[i] /= 255 }
        } else if let bad = inputs.firstIndex(where: { !$0.isFinite }) {
            throw DatasetError(
                .nonFinite, file: imagesPath,
                "\(imagesPath): value at image \(bad / width), element \(bad % width) is \(inputs[bad]); remove NaN and infinite values"
            )
        }
        let targets: DatasetTargets
        if y.element.isInteger {
            guard y.shape.count == 1 else {
                throw DatasetError(
                    .shapeMismatch, file: labelsPath,
                    "\(labelsPath): integer labels must be one class index per sample (dimensions [\(samples)]), got \(y.shape)")
            }
            targets = try classTargets(y.values.map { Int64($0) }, file: labelsPath, classCount: classCount)
        } else {
            let outWidth = y.shape.dropFirst().reduce(1, *)
            if let bad = y.values.firstIndex(where: { !$0.isFinite }) {
                throw DatasetError(
                    .nonFinite, file: labelsPath,
                    "\(labelsPath): value at row \(bad / max(outWidth, 1)), column \(bad % max(outWidth, 1)) is \(y.values[bad]); remove NaN and infinite values"
                )
            }
            targets = .regression(y.values, width: outWidth)
        }
        return try Dataset(
            name: name ?? fileStem(imagesPath), inputs: inputs, inputWidth: width, targets: targets,
            provenance:
                "idx: images \(imagesPath) \(x.shape) \(x.element), labels \(labelsPath) \(y.shape) \(y.element)\(scaleToUnitInterval ? ", scaled by 1/255" : "")"
        )
    }
}
