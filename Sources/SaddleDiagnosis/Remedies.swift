/// The remedies a diagnosis may recommend, by stable id. ``Diagnoser`` picks those that fit the verdict
/// and the evidence behind it.
public enum Remedies {
    public static let momentum = Recommendation(
        id: "momentum",
        text: "Use momentum (heavy ball or Nesterov, β ≈ 0.9): it carries the iterate through flat stretches "
            + "and along weak negative curvature, and averages out gradient noise.")
    public static let adaptiveMethod = Recommendation(
        id: "adaptiveMethod",
        text: "Switch to an adaptive method (Adam, RMSProp): per-coordinate step sizes help where curvature "
            + "differs by orders of magnitude between directions or is nearly flat.")
    public static let largerLearningRateOrWarmRestart = Recommendation(
        id: "largerLearningRateOrWarmRestart",
        text: "Raise the learning rate, or warm-restart the schedule (SGDR) or the initialization, to leave "
            + "this basin or cross the flat stretch.")
    public static let noiseInjection = Recommendation(
        id: "noiseInjection",
        text: "Inject small isotropic noise into the parameters or gradients (perturbed gradient descent): it "
            + "escapes saddles whose negative curvature is weak or of higher order.")
    public static let negativeCurvatureStep = Recommendation(
        id: "negativeCurvatureStep",
        text: "Step along the negative-curvature eigenvector (escape/probe reports the best step size and "
            + "sign): the loss falls along it although the gradient is ~0.")
    public static let normalizationOrActivation = Recommendation(
        id: "normalizationOrActivation",
        text: "Add normalization (batch or layer norm), re-initialize (He/Glorot), or use a non-saturating "
            + "activation (leaky ReLU, GELU) so that dead or saturated units pass gradient again.")
    public static let smallerLearningRate = Recommendation(
        id: "smallerLearningRate",
        text: "Lower the learning rate (or add warmup and gradient clipping) so that lr·λ_max stays below 2.")
    public static let largerBatch = Recommendation(
        id: "largerBatch",
        text: "Increase the batch size or accumulate gradients over several batches: mini-batch gradients "
            + "disagree more than they agree here.")
    public static let findNonFinite = Recommendation(
        id: "findNonFinite",
        text: "Find the first non-finite value: check the inputs and targets for NaN or infinities, and "
            + "guard logs, divisions and exponentials (or use a numerically stable loss).")
    public static let dataLoader = Recommendation(
        id: "dataLoader",
        text: "Check the data loader settings: more worker processes, prefetching, pinned memory, caching "
            + "decoded samples or faster storage; the model is waiting for data.")
    public static let shuffleAndSampler = Recommendation(
        id: "shuffleAndSampler",
        text: "Check shuffling and the sampler: batches repeat or hold a single label, so the model sees "
            + "little of the data set.")

    public static let stragglerRank = Recommendation(
        id: "stragglerRank",
        text: "Look at the slow rank's machine: another process on its cores, thermal throttling, a slower "
            + "device or an uneven shard (bucket samples by length); every other rank waits for it at each "
            + "all-reduce.")
    public static let replicaSync = Recommendation(
        id: "replicaSync",
        text: "Keep the replicas in step: start every rank from the same weights (broadcast from rank 0 or "
            + "one seed), all-reduce every gradient (DistributedDataParallel, no unused parameters skipped), "
            + "and sync buffers such as batch-norm statistics.")
    public static let distributedSampler = Recommendation(
        id: "distributedSampler",
        text: "Give each rank its own shard and a new order each epoch: DistributedSampler(shuffle=True) with "
            + "sampler.set_epoch(epoch) called before every epoch.")

    /// Every remedy, in a fixed order.
    public static let all: [Recommendation] = [
        momentum, adaptiveMethod, largerLearningRateOrWarmRestart, noiseInjection, negativeCurvatureStep,
        normalizationOrActivation, smallerLearningRate, largerBatch, findNonFinite, dataLoader, shuffleAndSampler,
        stragglerRank, replicaSync, distributedSampler,
    ]
}
