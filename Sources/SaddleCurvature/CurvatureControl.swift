/// How a long curvature computation reports progress and learns it was cancelled.
///
/// Algorithms call `checkCancelled` before every operator product (so a cancelled request stops
/// within one product) and let whatever it throws propagate unchanged; they call `progress` with a
/// fraction in [0, 1] (an upper bound on work done when the algorithm may stop early) and a short
/// human-readable message.
public struct CurvatureControl: Sendable {
    public var checkCancelled: @Sendable () throws -> Void
    public var progress: @Sendable (Double, String) -> Void

    public init(
        checkCancelled: @escaping @Sendable () throws -> Void = {},
        progress: @escaping @Sendable (Double, String) -> Void = { _, _ in }
    ) {
        self.checkCancelled = checkCancelled
        self.progress = progress
    }

    /// Never cancelled, reports nothing.
    public static let none = CurvatureControl()
}
