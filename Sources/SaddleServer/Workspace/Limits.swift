/// Resource limits, each with a saddled flag and a documented default (protocol/errors.md, -31002).
public struct Limits: Sendable {
    /// Parameters in one model (`--max-parameters`).
    public var maxParameters = 50_000_000
    /// Bytes of all data sets held together (`--max-dataset-bytes`).
    public var maxDatasetBytes = 4 << 30
    /// Bytes a Lanczos run may keep for its basis (`--max-lanczos-bytes`).
    public var maxLanczosBytes = 2 << 30
    /// Runs training at once (`--max-runs`).
    public var maxActiveRuns = 8
    public init() {}
}
