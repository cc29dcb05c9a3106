import SaddleCurvature
import SaddleDiagnosis
import SaddleModels
import SaddleRPC

extension RPCError {
    /// Maps what evidence gathering and probing may throw to the answer the client sees: cancellation
    /// stays -32800, model shape problems and bad settings are -32602, non-finite curvature -31005.
    static func fromDiagnosisWork(_ error: any Error) -> RPCError {
        switch error {
        case let rpc as RPCError: return rpc
        case let model as ModelError: return RPCError(from: model)
        case let probe as ProbeError: return .invalidParams(probe.description)
        case let curvature as CurvatureError:
            switch curvature {
            case .nonFiniteProduct, .eigensolverFailed: return .numericalError(curvature.description)
            case .invalidArgument, .dimensionMismatch: return .invalidParams(curvature.description)
            }
        default: return RPCError(from: error)
        }
    }
}
