import SaddleJSON
import SaddleMath

/// XOR: the four corners of the unit square labelled by the exclusive or of their coordinates
/// ((0,0)→0, (0,1)→1, (1,0)→1, (1,1)→0), the classic problem no linear model solves.
///
/// Without `samples` the data set is exactly the four corners in that order (the scenario
/// `d_xor_mlp_2_16_16_1_tanh_init`). With `samples`, sample `i` sits at corner `i mod 4` plus
/// Gaussian noise of standard deviation `noise`, so classes stay balanced; the label is the corner's.
public struct XORParameters: Sendable, Equatable, JSONDecodable {
    /// How labels are written.
    public enum Labels: String, Sendable, Equatable, CaseIterable {
        /// Class indices 0/1 (softmax cross-entropy with 2 classes).
        case classes
        /// Regression targets 0/1 (MSE or binary cross-entropy on one output).
        case binary
        /// Regression targets −1/+1 (MSE with a tanh output).
        case signed
    }

    public var samples: Int?
    public var noise: Double
    public var labels: Labels
    /// Corners at ±1 instead of {0, 1}.
    public var centered: Bool
    public var seed: UInt64

    public init(samples: Int? = nil, noise: Double = 0, labels: Labels = .classes, centered: Bool = false, seed: UInt64 = 0) {
        self.samples = samples
        self.noise = noise
        self.labels = labels
        self.centered = centered
        self.seed = seed
    }

    public init(from reader: JSONReader) throws(JSONShapeError) {
        _ = try reader.object(allowing: GeneratorLimits.common.union(["noise", "labels", "centered"]))
        samples = try reader["samples"].optionalInt(min: 1, max: GeneratorLimits.maxSamples)
        noise = try reader["noise"].double(default: 0, min: 0)
        labels = try reader["labels"].enumCase(Labels.self, default: .classes)
        centered = try reader["centered"].bool(default: false)
        seed = try GeneratorLimits.seed(reader)
    }

    var sampleCount: Int { samples ?? 4 }

    func generate() throws(DatasetError) -> Dataset {
        var rng = SeededRandom(seed: seed)
        let corners: [(Double, Double, Int)] = [(0, 0, 0), (0, 1, 1), (1, 0, 1), (1, 1, 0)]
        var x = [Double]()
        var dense = [Double]()
        var classes = [Int32]()
        for i in 0..<sampleCount {
            let (a, b, label) = corners[i % 4]
            let (u, v) = centered ? (2 * a - 1, 2 * b - 1) : (a, b)
            x.append(u + (noise > 0 ? noise * rng.gaussian() : 0))
            x.append(v + (noise > 0 ? noise * rng.gaussian() : 0))
            switch labels {
            case .classes: classes.append(Int32(label))
            case .binary: dense.append(Double(label))
            case .signed: dense.append(label == 1 ? 1 : -1)
            }
        }
        let targets: DatasetTargets = labels == .classes ? .classes(classes, classCount: 2) : .regression(dense, width: 1)
        return try Dataset(
            name: "xor", inputs: x, inputWidth: 2, targets: targets,
            provenance:
                "generated xor: samples \(sampleCount), noise \(noise), labels \(labels.rawValue), centered \(centered), seed \(seed)"
        )
    }
}

/// A Gaussian mixture: `classes` isotropic Gaussian clusters of standard deviation `std` in
/// `dimensions` dimensions, their means at distance `separation` from the origin in random
/// directions. Sample `i` belongs to class `i mod classes` (balanced).
public struct GaussianMixtureParameters: Sendable, Equatable, JSONDecodable {
    public var classes: Int
    public var dimensions: Int
    public var samples: Int
    public var separation: Double
    public var std: Double
    public var seed: UInt64

    public init(
        classes: Int = 3, dimensions: Int = 2, samples: Int = 300, separation: Double = 4, std: Double = 1, seed: UInt64 = 0
    ) {
        self.classes = classes
        self.dimensions = dimensions
        self.samples = samples
        self.separation = separation
        self.std = std
        self.seed = seed
    }

    public init(from reader: JSONReader) throws(JSONShapeError) {
        _ = try reader.object(allowing: GeneratorLimits.common.union(["classes", "dimensions", "separation", "std"]))
        classes = try reader["classes"].int(default: 3, min: 2, max: 10_000)
        dimensions = try reader["dimensions"].int(default: 2, min: 1, max: GeneratorLimits.maxWidth)
        samples = try reader["samples"].int(default: 300, min: 1, max: GeneratorLimits.maxSamples)
        separation = try reader["separation"].double(default: 4, min: 0)
        std = try reader["std"].double(default: 1, min: 0)
        seed = try GeneratorLimits.seed(reader)
    }

    /// The cluster means, `classes × dimensions` row-major (drawn first from the seed's stream).
    public func means() -> [Double] {
        var rng = SeededRandom(seed: seed)
        var means = [Double]()
        for _ in 0..<classes {
            var direction = (0..<dimensions).map { _ in rng.gaussian() }
            Vector.normalize(&direction)
            means.append(contentsOf: direction.map { $0 * separation })
        }
        return means
    }

    func generate() throws(DatasetError) -> Dataset {
        let centers = means()
        var rng = GeneratorLimits.dataStream(seed)
        var x = [Double]()
        x.reserveCapacity(samples * dimensions)
        var labels = [Int32]()
        for i in 0..<samples {
            let c = i % classes
            for j in 0..<dimensions { x.append(centers[c * dimensions + j] + std * rng.gaussian()) }
            labels.append(Int32(c))
        }
        return try Dataset(
            name: "gaussianMixture", inputs: x, inputWidth: dimensions,
            targets: .classes(labels, classCount: classes),
            provenance:
                "generated gaussianMixture: classes \(classes), dimensions \(dimensions), samples \(samples), separation \(separation), std \(std), seed \(seed)"
        )
    }
}

/// Two interleaved spirals in the plane. Sample `i` is on spiral `i mod 2` at a uniform random
/// position t ∈ [0, 1): radius t, angle 2π·turns·t (+π for the second spiral), plus Gaussian
/// noise of standard deviation `noise`. Labels are class indices 0/1.
public struct SpiralsParameters: Sendable, Equatable, JSONDecodable {
    public var samples: Int
    public var noise: Double
    public var turns: Double
    public var seed: UInt64

    public init(samples: Int = 200, noise: Double = 0, turns: Double = 1.5, seed: UInt64 = 0) {
        self.samples = samples
        self.noise = noise
        self.turns = turns
        self.seed = seed
    }

    public init(from reader: JSONReader) throws(JSONShapeError) {
        _ = try reader.object(allowing: GeneratorLimits.common.union(["noise", "turns"]))
        samples = try reader["samples"].int(default: 200, min: 2, max: GeneratorLimits.maxSamples)
        noise = try reader["noise"].double(default: 0, min: 0)
        turns = try reader["turns"].double(default: 1.5, min: 0.1, max: 100)
        seed = try GeneratorLimits.seed(reader)
    }

    func generate() throws(DatasetError) -> Dataset {
        var rng = SeededRandom(seed: seed)
        var x = [Double]()
        var labels = [Int32]()
        for i in 0..<samples {
            let c = i % 2
            let t = rng.uniform()
            let angle = 2 * Double.pi * turns * t + Double(c) * Double.pi
            x.append(t * cosine(angle) + (noise > 0 ? noise * rng.gaussian() : 0))
            x.append(t * sine(angle) + (noise > 0 ? noise * rng.gaussian() : 0))
            labels.append(Int32(c))
        }
        return try Dataset(
            name: "spirals", inputs: x, inputWidth: 2, targets: .classes(labels, classCount: 2),
            provenance: "generated spirals: samples \(samples), noise \(noise), turns \(turns), seed \(seed)")
    }
}
