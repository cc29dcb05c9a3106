import SaddleJSON

/// Every threshold the diagnosis compares against, by name, with its default. Each can be overridden
/// from JSON (``init(from:)``); ``catalog`` lists names, defaults, allowed ranges and meanings, so the
/// protocol reference and clients can show them.
///
/// Scale conventions: gradient and spectrum tests are relative (to the early gradient scale, to
/// max(1, |f|), or to |λ|max), because absolute numbers mean nothing across models.
public struct Thresholds: Sendable, Equatable {
    /// ‖g‖ ≤ smallGradientRelative · (early gradient scale) → small gradient. Default 0.01.
    public var smallGradientRelative = 0.01
    /// ‖g‖ ≤ smallGradientAbsolute · max(1, |f|) → small gradient (applies with or without history).
    /// Default 1e-6.
    public var smallGradientAbsolute = 1e-6
    /// Number of first steps whose median gradient norm is the early scale. Default 10.
    public var earlyWindow = 10
    /// λ_min < −negativeCurvature · |λ|max → clearly negative curvature (a strict saddle). Default 1e-4.
    public var negativeCurvature = 1e-4
    /// |λ|max ≤ flatSpectrum · max(1, |f|) → the whole spectrum is ≈ 0. Default 1e-6.
    public var flatSpectrum = 1e-6
    /// Negative spectral mass above this → negative curvature (when λ_min is unknown). Default 0.01.
    public var negativeSpectralMass = 0.01
    /// A probe decrease above escapeDecrease · max(1, |f|) counts as descent. Default 1e-8.
    public var escapeDecrease = 1e-8
    /// Trailing steps over which the loss trend is measured. Default 50.
    public var plateauWindow = 50
    /// |relative loss change over the window| below this → flat loss; below its negative → falling.
    /// Default 0.01.
    public var plateauRelativeSlope = 0.01
    /// Relative loss growth over the window above this (and the last third's median above the first
    /// third's by the same factor) → sustained growth. Default 0.5.
    public var divergenceLossGrowth = 0.5
    /// Gradient- or weight-norm growth factor (median of the window's last third over its first)
    /// above this, with the loss not falling → diverging. Default 10.
    public var divergenceNormGrowth = 10.0
    /// The stability bound for lr·λ_max (gradient descent on a quadratic diverges above 2). Default 2.
    public var edgeOfStability = 2.0
    /// lr·λ_max within edgeOfStability · (1 ± edgeOfStabilityBand), loss falling on average → edge of
    /// stability (not divergence, not ill-conditioning). Default 0.1.
    public var edgeOfStabilityBand = 0.1
    /// Mean cosine between mini-batch gradients below this → noise dominates. Default 0.1.
    public var cosineNoise = 0.1
    /// Noise scale over batch size above this → noise dominates. Default 10.
    public var noiseScale = 10.0
    /// λ_max / λ_min (both positive) above this → ill-conditioned. Default 1e6.
    public var conditionNumber = 1e6
    /// Dead-ReLU share above this → plateau. Default 0.5.
    public var deadFraction = 0.5
    /// Saturated-unit share above this → plateau. Default 0.5.
    public var saturatedFraction = 0.5
    /// Trailing steps over which data-pipeline statistics are measured. Default 20.
    public var dataWindow = 20
    /// Data-wait share of step time at or above this → stall. Default 0.5.
    public var dataWaitShare = 0.5
    public var dataWaitMinimum = 0.001
    /// Throughput drop (1 − recent/earlier) at or above this → stall. Default 0.5.
    public var throughputDrop = 0.5
    /// Share of repeated batches at or above this → stall. Default 0.5.
    public var repeatedBatchShare = 0.5
    /// Mean normalized label entropy at or below this → stall (one-label batches). Default 0.1.
    public var labelEntropy = 0.1
    /// A rank is slow when its compute (or data wait) exceeds the median over ranks by at least this
    /// share of the median step (compute + data wait). Default 0.5.
    public var rankImbalance = 0.5
    /// Seconds: a rank's excess compute or data wait counts only from this long (timer noise). Default 0.002.
    public var rankDelayMinimum = 0.002
    /// A rank's recent median loss off the median over ranks by at least this (relative) → its replica
    /// drifted, when it was not that far off early. Default 0.5.
    public var rankLossDeviation = 0.5

    public init() {}

    /// A threshold's name, allowed range and meaning, and the property that holds it (its default is the
    /// property's initial value).
    public struct Info: Sendable {
        public let name: String
        public let minimum: Double
        public let maximum: Double
        public let meaning: String
        let field: Field

        /// Where a threshold lives: a real or an integer property.
        enum Field: Sendable {
            case real(WritableKeyPath<Thresholds, Double> & Sendable)
            case integer(WritableKeyPath<Thresholds, Int> & Sendable)
        }

        init(
            _ name: String, real key: WritableKeyPath<Thresholds, Double> & Sendable, minimum: Double, maximum: Double,
            meaning: String
        ) {
            (self.name, self.minimum, self.maximum, self.meaning, field) = (name, minimum, maximum, meaning, .real(key))
        }

        init(
            _ name: String, integer key: WritableKeyPath<Thresholds, Int> & Sendable, minimum: Double, maximum: Double,
            meaning: String
        ) {
            (self.name, self.minimum, self.maximum, self.meaning, field) = (name, minimum, maximum, meaning, .integer(key))
        }

        /// Whether the threshold takes whole numbers only.
        public var isInteger: Bool { if case .integer = field { true } else { false } }
        /// The threshold's default.
        public var defaultValue: Double { Thresholds().value(field) }
    }

    /// All thresholds, in a fixed order: the one list of names (reading, setting, JSON and the protocol go by it).
    public static let catalog: [Info] = [
        Info(
            "smallGradientRelative", real: \.smallGradientRelative, minimum: 0, maximum: 1,
            meaning: "gradient small if ‖g‖ ≤ this × early gradient scale"),
        Info(
            "smallGradientAbsolute", real: \.smallGradientAbsolute, minimum: 0, maximum: .infinity,
            meaning: "gradient small if ‖g‖ ≤ this × max(1, |loss|)"),
        Info(
            "earlyWindow", integer: \.earlyWindow, minimum: 1, maximum: 1_000_000,
            meaning: "first steps whose median gradient norm is the early scale"),
        Info(
            "negativeCurvature", real: \.negativeCurvature, minimum: 0, maximum: 1,
            meaning: "λ_min clearly negative if λ_min < −this × |λ|max"),
        Info(
            "flatSpectrum", real: \.flatSpectrum, minimum: 0, maximum: .infinity,
            meaning: "spectrum ≈ 0 if |λ|max ≤ this × max(1, |loss|)"),
        Info(
            "negativeSpectralMass", real: \.negativeSpectralMass, minimum: 0, maximum: 1,
            meaning: "negative curvature if the spectral mass below −tol exceeds this"),
        Info(
            "escapeDecrease", real: \.escapeDecrease, minimum: 0, maximum: .infinity,
            meaning: "a probe found descent if its decrease exceeds this × max(1, |loss|)"),
        Info(
            "plateauWindow", integer: \.plateauWindow, minimum: 3, maximum: 1_000_000,
            meaning: "trailing steps over which the loss trend is measured"),
        Info(
            "plateauRelativeSlope", real: \.plateauRelativeSlope, minimum: 0, maximum: .infinity,
            meaning: "loss flat if |relative change over the window| < this; falling if < −this"),
        Info(
            "divergenceLossGrowth", real: \.divergenceLossGrowth, minimum: 0, maximum: .infinity,
            meaning: "sustained growth if the loss grows by more than this (relative) over the window"),
        Info(
            "divergenceNormGrowth", real: \.divergenceNormGrowth, minimum: 1, maximum: .infinity,
            meaning: "diverging if gradient or weight norms grow by more than this factor, loss not falling"),
        Info(
            "edgeOfStability", real: \.edgeOfStability, minimum: 0, maximum: .infinity,
            meaning: "the stability bound for lr × λ_max"),
        Info(
            "edgeOfStabilityBand", real: \.edgeOfStabilityBand, minimum: 0, maximum: 1,
            meaning: "edge of stability if lr × λ_max is within bound × (1 ± this) and the loss falls on average"),
        Info(
            "cosineNoise", real: \.cosineNoise, minimum: -1, maximum: 1,
            meaning: "noise dominates if the mean mini-batch gradient cosine is below this"),
        Info(
            "noiseScale", real: \.noiseScale, minimum: 0, maximum: .infinity,
            meaning: "noise dominates if noise scale / batch size exceeds this"),
        Info(
            "conditionNumber", real: \.conditionNumber, minimum: 1, maximum: .infinity,
            meaning: "ill-conditioned if λ_max / λ_min (both positive) exceeds this"),
        Info(
            "deadFraction", real: \.deadFraction, minimum: 0, maximum: 1,
            meaning: "plateau if the dead-ReLU share is at least this"),
        Info(
            "saturatedFraction", real: \.saturatedFraction, minimum: 0, maximum: 1,
            meaning: "plateau if the saturated-unit share is at least this"),
        Info(
            "dataWindow", integer: \.dataWindow, minimum: 1, maximum: 1_000_000,
            meaning: "trailing steps over which data-pipeline statistics are measured"),
        Info(
            "dataWaitShare", real: \.dataWaitShare, minimum: 0, maximum: 1,
            meaning: "stall if the data-wait share of step time is at least this"),
        Info(
            "dataWaitMinimum", real: \.dataWaitMinimum, minimum: 0, maximum: 3600,
            meaning:
                "seconds: the data-wait share counts only when steps wait at least this long on average (a tiny model's queue hand-off is no stall)"
        ),
        Info(
            "throughputDrop", real: \.throughputDrop, minimum: 0, maximum: 1,
            meaning: "stall if throughput dropped by at least this share (recent vs earlier)"),
        Info(
            "repeatedBatchShare", real: \.repeatedBatchShare, minimum: 0, maximum: 1,
            meaning: "stall if at least this share of recent batches repeat"),
        Info(
            "labelEntropy", real: \.labelEntropy, minimum: 0, maximum: 1,
            meaning: "stall if recent batches' mean normalized label entropy is at most this"),
        Info(
            "rankImbalance", real: \.rankImbalance, minimum: 0, maximum: .infinity,
            meaning: "a rank is slow if its compute or data wait exceeds the median over ranks by this share of the median step"),
        Info(
            "rankDelayMinimum", real: \.rankDelayMinimum, minimum: 0, maximum: 3600,
            meaning: "seconds: a rank's excess compute or data wait counts only from this long"),
        Info(
            "rankLossDeviation", real: \.rankLossDeviation, minimum: 0, maximum: .infinity,
            meaning:
                "ranks diverge if a rank's recent median loss is off the median over ranks by this (relative), and was not early"),
    ]

    private static let byName: [String: Info] = Dictionary(uniqueKeysWithValues: catalog.map { ($0.name, $0) })

    private func value(_ field: Info.Field) -> Double {
        switch field {
        case .real(let key): return self[keyPath: key]
        case .integer(let key): return Double(self[keyPath: key])
        }
    }

    /// The value of the threshold `name`, or `nil` for an unknown name.
    public subscript(name: String) -> Double? { Self.byName[name].map { value($0.field) } }

    /// Sets the threshold `name`; returns false for an unknown name. Integer thresholds are rounded.
    @discardableResult
    public mutating func set(_ name: String, to value: Double) -> Bool {
        guard let info = Self.byName[name] else { return false }
        switch info.field {
        case .real(let key): self[keyPath: key] = value
        case .integer(let key): self[keyPath: key] = Int(value.rounded())
        }
        return true
    }
}

extension Thresholds: JSONDecodable, JSONEncodable {
    /// Defaults overridden by the members of a JSON object, e.g. `{"plateauWindow": 100}`. An absent or
    /// `null` value gives the defaults.
    /// - Throws: ``JSONShapeError`` naming an unknown threshold (with the list of valid names), a value
    ///   that is not a finite number, not an integer where one is required, or out of its range.
    public init(from reader: JSONReader) throws(JSONShapeError) {
        self.init()
        if reader.isAbsent { return }
        let names = Set(Self.catalog.map(\.name))
        let members = try reader.object(allowing: names)
        for info in Self.catalog where members[info.name] != nil {
            let field = reader[info.name]
            let value: Double
            if info.isInteger {
                value = Double(try field.int(min: Int(info.minimum), max: Int(info.maximum)))
            } else {
                value = try field.double(min: info.minimum, max: info.maximum)
            }
            set(info.name, to: value)
        }
    }

    /// Every threshold by name.
    public var json: JSON {
        var members: [String: JSON] = [:]
        for info in Self.catalog {
            let value = self[info.name] ?? .nan
            members[info.name] = info.isInteger ? .int(Int64(value)) : JSON.number(value)
        }
        return .object(members)
    }
}
