import SaddleJSON

/// Which update rule an ``Optimizer`` applies. Each follows PyTorch's `torch.optim` class of the
/// same name exactly (see ``OptimizerConfig`` for the defaults and formulas).
public enum OptimizerKind: String, Sendable, CaseIterable {
    /// `torch.optim.SGD` (momentum 0 unless given).
    case sgd
    /// Heavy-ball momentum: `torch.optim.SGD(momentum=μ)`, μ defaults to 0.9 here.
    case momentum
    /// Nesterov momentum: `torch.optim.SGD(momentum=μ, nesterov=True)`, μ defaults to 0.9 here.
    case nesterov
    /// `torch.optim.Adam` (L2 decay coupled into the gradient).
    case adam
    /// `torch.optim.AdamW` (decoupled weight decay, default 0.01).
    case adamw
    /// `torch.optim.RMSprop`.
    case rmsprop
    /// `torch.optim.Adagrad`.
    case adagrad
}

/// An optimizer's settings, decodable from JSON such as
/// `{"kind":"adam","lr":0.001,"betas":[0.9,0.999],"eps":1e-8,"weightDecay":0,"clipNorm":1.0,
///   "schedule":{"kind":"cosine","steps":1000,"warmup":100},"noise":{"std":0.01}}`.
///
/// Defaults are PyTorch's (2.x) for each class:
/// - SGD: `lr` 1e-3, `momentum` 0 (0.9 for kinds `momentum`/`nesterov`), `dampening` 0, `weightDecay` 0.
/// - Adam: `lr` 1e-3, `betas` (0.9, 0.999), `eps` 1e-8, `weightDecay` 0.
/// - AdamW: as Adam but `weightDecay` 0.01, applied decoupled: p ← p·(1 − lr·wd) before the Adam step.
/// - RMSprop: `lr` 1e-2, `alpha` 0.99, `eps` 1e-8, `momentum` 0, `centered` false, `weightDecay` 0.
/// - Adagrad: `lr` 1e-2, `lrDecay` 0, `initialAccumulatorValue` 0, `eps` 1e-10, `weightDecay` 0.
/// For every kind but AdamW, weight decay is L2 coupled into the gradient: g ← g + wd·p.
public struct OptimizerConfig: Sendable, Equatable, JSONDecodable, JSONEncodable {
    public var kind: OptimizerKind
    /// Base learning rate; the schedule scales it.
    public var lr: Double
    public var momentum: Double
    public var dampening: Double
    public var betas: (Double, Double) { (beta1, beta2) }
    public var beta1: Double
    public var beta2: Double
    public var eps: Double
    public var weightDecay: Double
    /// RMSprop's smoothing constant.
    public var alpha: Double
    /// RMSprop: normalize by the centered second moment (an estimate of the variance).
    public var centered: Bool
    /// Adagrad: lr_t = lr / (1 + (t − 1)·lrDecay).
    public var lrDecay: Double
    public var initialAccumulatorValue: Double
    /// Clip the gradient to this global L2 norm before the update (`torch.nn.utils.clip_grad_norm_`); nil: no clipping.
    public var clipNorm: Double?
    public var schedule: ScheduleConfig
    /// Isotropic Gaussian noise added to the gradient (perturbed gradient descent); nil: none.
    public var noise: NoiseConfig?

    /// A configuration with PyTorch's defaults for `kind`.
    public init(kind: OptimizerKind, lr: Double? = nil) {
        self.kind = kind
        switch kind {
        case .sgd, .momentum, .nesterov, .adam, .adamw: self.lr = lr ?? 1e-3
        case .rmsprop, .adagrad: self.lr = lr ?? 1e-2
        }
        momentum = (kind == .momentum || kind == .nesterov) ? 0.9 : 0
        dampening = 0
        beta1 = 0.9
        beta2 = 0.999
        switch kind {
        case .adagrad: eps = 1e-10
        default: eps = 1e-8
        }
        weightDecay = kind == .adamw ? 0.01 : 0
        alpha = 0.99
        centered = false
        lrDecay = 0
        initialAccumulatorValue = 0
        clipNorm = nil
        schedule = ScheduleConfig()
        noise = nil
    }

    /// Whether SGD applies Nesterov's look-ahead (kind `nesterov`).
    public var nesterov: Bool { kind == .nesterov }

    public static func == (a: OptimizerConfig, b: OptimizerConfig) -> Bool {
        a.kind == b.kind && a.lr == b.lr && a.momentum == b.momentum && a.dampening == b.dampening
            && a.beta1 == b.beta1 && a.beta2 == b.beta2 && a.eps == b.eps && a.weightDecay == b.weightDecay
            && a.alpha == b.alpha && a.centered == b.centered && a.lrDecay == b.lrDecay
            && a.initialAccumulatorValue == b.initialAccumulatorValue && a.clipNorm == b.clipNorm
            && a.schedule == b.schedule && a.noise == b.noise
    }

    private static func allowedFields(_ kind: OptimizerKind) -> Set<String> {
        let common: Set<String> = ["kind", "lr", "weightDecay", "clipNorm", "schedule", "noise"]
        switch kind {
        case .sgd, .momentum, .nesterov: return common.union(["momentum", "dampening", "nesterov"])
        case .adam, .adamw: return common.union(["betas", "eps"])
        case .rmsprop: return common.union(["alpha", "eps", "momentum", "centered"])
        case .adagrad: return common.union(["lrDecay", "eps", "initialAccumulatorValue"])
        }
    }

    public init(from reader: JSONReader) throws(JSONShapeError) {
        var kind = try reader["kind"].enumCase(OptimizerKind.self)
        let named = kind
        _ = try reader.object(allowing: Self.allowedFields(kind))
        // `{"kind":"sgd","momentum":0.9,"nesterov":true}` is PyTorch's spelling of the Nesterov kind.
        if kind == .sgd || kind == .momentum, try reader["nesterov"].bool(default: false) { kind = .nesterov }
        if kind == .nesterov, try !reader["nesterov"].bool(default: true) {
            throw reader["nesterov"].fail("cannot be false for kind \"nesterov\"; use kind \"momentum\"")
        }
        self.init(kind: kind)
        if named == .sgd { momentum = 0 }  // PyTorch's SGD default, also with nesterov=True (then rejected below)
        lr = try reader["lr"].double(default: lr, min: 0)
        weightDecay = try reader["weightDecay"].double(default: weightDecay, min: 0)
        if let clip = try reader["clipNorm"].optionalDouble(min: 0) {
            guard clip > 0 else { throw reader["clipNorm"].fail("must be positive (omit it to disable clipping), got 0.0") }
            clipNorm = clip
        }
        momentum = try reader["momentum"].double(default: momentum, min: 0, max: 1)
        dampening = try reader["dampening"].double(default: dampening, min: 0, max: 1)
        if kind == .nesterov && (momentum <= 0 || dampening != 0) {
            throw reader["momentum"].fail("must be positive with zero dampening for Nesterov momentum (PyTorch's rule)")
        }
        if !reader["betas"].isAbsent {
            let b = try reader["betas"].array(minCount: 2, maxCount: 2)
            beta1 = try b[0].double(min: 0, max: 1)
            beta2 = try b[1].double(min: 0, max: 1)
            if beta1 >= 1 { throw b[0].fail("must be less than 1, got \(beta1)") }
            if beta2 >= 1 { throw b[1].fail("must be less than 1, got \(beta2)") }
        }
        eps = try reader["eps"].double(default: eps, min: 0)
        alpha = try reader["alpha"].double(default: alpha, min: 0, max: 1)
        centered = try reader["centered"].bool(default: centered)
        lrDecay = try reader["lrDecay"].double(default: lrDecay, min: 0)
        initialAccumulatorValue = try reader["initialAccumulatorValue"].double(default: 0, min: 0)
        schedule = try reader["schedule"].decodeIfPresent(ScheduleConfig.self) ?? ScheduleConfig()
        noise = try reader["noise"].decodeIfPresent(NoiseConfig.self)
    }

    public var json: JSON {
        var o: [String: JSON] = ["kind": .string(kind.rawValue), "lr": .double(lr), "weightDecay": .double(weightDecay)]
        switch kind {
        case .sgd, .momentum, .nesterov:
            o["momentum"] = .double(momentum)
            o["dampening"] = .double(dampening)
        case .adam, .adamw:
            o["betas"] = [.double(beta1), .double(beta2)]
            o["eps"] = .double(eps)
        case .rmsprop:
            o["alpha"] = .double(alpha)
            o["eps"] = .double(eps)
            o["momentum"] = .double(momentum)
            o["centered"] = .bool(centered)
        case .adagrad:
            o["lrDecay"] = .double(lrDecay)
            o["eps"] = .double(eps)
            o["initialAccumulatorValue"] = .double(initialAccumulatorValue)
        }
        if let clipNorm { o["clipNorm"] = .double(clipNorm) }
        o["schedule"] = schedule.json
        if let noise { o["noise"] = noise.json }
        return .object(o)
    }
}

/// Gradient-noise injection: g ← g + ξ with ξ ~ N(0, σ²·I), drawn from a `SeededRandom` so a run
/// is reproducible for its seed. `{"std":0.01}`; an optional `"seed"` overrides the run's.
public struct NoiseConfig: Sendable, Equatable, JSONDecodable, JSONEncodable {
    public var std: Double
    public var seed: UInt64?
    public init(std: Double, seed: UInt64? = nil) {
        self.std = std
        self.seed = seed
    }
    public init(from reader: JSONReader) throws(JSONShapeError) {
        _ = try reader.object(allowing: ["std", "seed"])
        std = try reader["std"].double(min: 0)
        seed = try reader["seed"].optionalInt(min: 0).map { UInt64($0) }
    }
    public var json: JSON {
        var o: [String: JSON] = ["std": .double(std)]
        if let seed { o["seed"] = .int(Int64(bitPattern: seed)) }
        return .object(o)
    }
}
