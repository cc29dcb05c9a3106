/// Resource limits, each with a saddled flag and a documented default (protocol/errors.md, -31002).
/// Reaching one is an error answer naming the limit and its value, never an abort.
public struct Limits: Sendable {
    /// Parameters in one model (`--max-parameters`).
    public var maxParameters = 50_000_000
    /// Bytes of all data sets held together (`--max-dataset-bytes`).
    public var maxDatasetBytes = 4 << 30
    /// Bytes a Lanczos run may keep for its basis (`--max-lanczos-bytes`).
    public var maxLanczosBytes = 2 << 30
    /// Runs training at once (`--max-runs`).
    public var maxActiveRuns = 8
    /// Bytes of models' parameters (8 per parameter: they are `Double`) and data sets held together
    /// (`--memory-budget`); a new model or data set that would pass it is refused.
    public var memoryBudgetBytes = 8 << 30
    public init() {}
}
