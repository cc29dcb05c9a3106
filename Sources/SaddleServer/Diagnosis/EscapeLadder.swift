import SaddleCurvature
import SaddleDiagnosis
import SaddleMath
import SaddleModels
import SaddleRPC

/// The loss along a direction at a ladder of step sizes, and the step to the best point found.
enum EscapeLadder {
    /// Half-decade steps 1e-3, 3.16e-3, …, 1, times max(1, ‖θ‖): small enough to see a second-order
    /// decrease, large enough to leave a flat region of a big model.
    static func defaultStepSizes(parameterNorm: Double) -> [Double] {
        let scale = parameterNorm.isFinite ? max(1, parameterNorm) : 1
        return halfDecades.map { scale * $0 }
    }

    /// Decade steps 1e-3, 1e-2, 0.1, 1 times max(1, ‖θ‖): the cheaper ladder `diagnose` probes with.
    static func decadeStepSizes(parameterNorm: Double) -> [Double] {
        let scale = parameterNorm.isFinite ? max(1, parameterNorm) : 1
        return [1e-3, 1e-2, 1e-1, 1].map { scale * $0 }
    }

    private static let halfDecades = [
        1e-3, 3.1622776601683794e-3, 1e-2, 3.1622776601683794e-2, 1e-1,
        0.31622776601683794, 1,
    ]

    /// A probe "found a decrease" when its best decrease exceeds `escapeDecrease` · max(1, |f(θ)|), the
    /// same test the diagnosis applies (so rounding-level changes at a minimum never count).
    static func foundDecrease(_ result: EscapeProbe.Result, thresholds: Thresholds = Thresholds()) -> Bool {
        result.bestDecrease.isFinite && result.baseLoss.isFinite
            && result.bestDecrease > thresholds.escapeDecrease * max(1, abs(result.baseLoss))
    }

    /// θ + bestStep · d̂ with d̂ = direction / ‖direction‖ (the point the probe evaluated).
    static func bestPoint(theta: [Double], direction: [Double], step: Double) -> [Double] {
        let norm = Vector.norm(direction)
        guard norm > 0, norm.isFinite else { return theta }
        var point = theta
        for i in point.indices { point[i] += step * direction[i] / norm }
        return point
    }
}
