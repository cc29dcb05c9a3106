import SaddleRPC

extension Server {
    func registerDiagnosisMethods(_ table: inout MethodTable) {
        table.register(Diagnose.self, execution: .background) { params, context in
            context.progress(.begin, title: "diagnose", percentage: 0)
            defer { context.progress(.end) }
            switch params.source {
            case .evidence(let evidence):
                return .object(self.diagnosisResult(evidence: evidence, thresholds: params.thresholds))
            case .point(let request, let options):
                let point = try self.pointEvidence(
                    model: request.model, dataset: request.dataset, samples: request.samples,
                    precision: request.precision, options: options,
                    control: context.curvatureControl)
                return .object(self.pointDiagnosisResult(point, thresholds: params.thresholds))
            case .run(let run, let options, let measured):
                return .object(
                    try self.runDiagnosisResult(
                        run, options: options, measured: measured,
                        thresholds: params.thresholds, control: context.curvatureControl))
            }
        }
        table.register(EscapeProbeMethod.self, execution: .background) { params, context in
            context.progress(.begin, title: "escape/probe", percentage: 0)
            defer { context.progress(.end) }
            return try self.escapeProbe(params, control: context.curvatureControl)
        }
    }
}
