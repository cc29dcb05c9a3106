import SaddleJSON
import SaddleMath

/// A synthetic data set recipe, decoded from JSON such as
/// `{"kind": "xor", "samples": 200, "noise": 0.1, "seed": 1}`.
///
/// Every generator draws from ``SeededRandom``: the same parameters give the same data set,
/// bit for bit, on every machine. Unknown fields are rejected by name (a misspelt `"sample"` is an
/// error, not a silently ignored option).
public struct DatasetGenerator: Sendable, Equatable, JSONDecodable {
    public enum Kind: Sendable, Equatable {
        case xor(XORParameters)
        case gaussianMixture(GaussianMixtureParameters)
        case spirals(SpiralsParameters)
        case teacherStudent(TeacherStudentParameters)
        case deepLinear(DeepLinearParameters)
    }

    /// The `kind` values accepted in JSON.
    public static let kindNames = ["xor", "gaussianMixture", "spirals", "teacherStudent", "deepLinear"]

    public var kind: Kind
    /// The data set's name; defaults to the kind.
    public var name: String?

    public init(_ kind: Kind, name: String? = nil) {
        self.kind = kind
        self.name = name
    }

    public init(from reader: JSONReader) throws(JSONShapeError) {
        let kindName = try reader["kind"].oneOf(Self.kindNames)
        name = try reader["name"].optionalString()
        switch kindName {
        case "xor": kind = .xor(try XORParameters(from: reader))
        case "gaussianMixture": kind = .gaussianMixture(try GaussianMixtureParameters(from: reader))
        case "spirals": kind = .spirals(try SpiralsParameters(from: reader))
        case "teacherStudent": kind = .teacherStudent(try TeacherStudentParameters(from: reader))
        default: kind = .deepLinear(try DeepLinearParameters(from: reader))
        }
    }

    /// Generates the data set, refusing (before allocating) one whose inputs and targets would
    /// exceed `maxBytes`.
    public func generate(maxBytes: Int = Dataset.defaultMaxBytes) throws(DatasetError) -> Dataset {
        let (samples, width, targetWidth, kindName): (Int, Int, Int, String)
        switch kind {
        case .xor(let p): (samples, width, targetWidth, kindName) = (p.sampleCount, 2, 1, "xor")
        case .gaussianMixture(let p): (samples, width, targetWidth, kindName) = (p.samples, p.dimensions, 1, "gaussianMixture")
        case .spirals(let p): (samples, width, targetWidth, kindName) = (p.samples, 2, 1, "spirals")
        case .teacherStudent(let p): (samples, width, targetWidth, kindName) = (p.samples, p.inputs, p.outputs, "teacherStudent")
        case .deepLinear(let p): (samples, width, targetWidth, kindName) = (p.samples, p.inputs, p.outputs, "deepLinear")
        }
        guard samples > 0, width > 0, targetWidth > 0, width < Int32.max, targetWidth < Int32.max else {
            throw DatasetError(
                .invalidParameters,
                "generator \(kindName): samples (\(samples)), input width (\(width)) and target width (\(targetWidth)) must be positive"
            )
        }
        let (bytes, overflow) = samples.multipliedReportingOverflow(by: (width + targetWidth) * 8)
        if overflow || bytes > maxBytes {
            throw DatasetError(
                .tooLarge,
                "generated data set \"\(name ?? kindName)\" would take about \(overflow ? "more than \(Int.max)" : "\(bytes)") bytes (\(samples) samples × \(width + targetWidth) values), over the limit maxBytes = \(maxBytes); use fewer samples or raise maxBytes"
            )
        }
        var dataset: Dataset
        switch kind {
        case .xor(let p): dataset = try p.generate()
        case .gaussianMixture(let p): dataset = try p.generate()
        case .spirals(let p): dataset = try p.generate()
        case .teacherStudent(let p): dataset = try p.generate()
        case .deepLinear(let p): dataset = try p.generate()
        }
        if let name { dataset.name = name }
        return dataset
    }
}

/// Limits shared by the generators' JSON decoding.
enum GeneratorLimits {
    static let maxSamples = 10_000_000
    static let maxWidth = 100_000
    static let common: Set<String> = ["kind", "name", "seed", "samples"]

    /// The stream for samples and noise: split off the seed's stream, whose first draws belong
    /// to the generator's fixed parameters (means, teacher weights).
    static func dataStream(_ seed: UInt64) -> SeededRandom {
        var root = SeededRandom(seed: seed)
        return root.split()
    }

    static func seed(_ reader: JSONReader) throws(JSONShapeError) -> UInt64 {
        UInt64(try reader["seed"].int(default: 0, min: 0))
    }
}
