import SaddleRPC

extension Server {
    /// The curvature family: every method computes, so every one runs in the background, reports
    /// `$/progress` for a work-done token and stops within one product when cancelled.
    func registerCurvatureMethods(_ table: inout MethodTable) {
        table.register(CurvatureGradient.self, execution: .background) { try self.curvatureGradient($0, $1) }
        table.register(CurvatureEigen.self, execution: .background) { try self.curvatureEigen($0, $1) }
        table.register(CurvatureTrace.self, execution: .background) { try self.curvatureTrace($0, $1) }
        table.register(CurvatureDensity.self, execution: .background) { try self.curvatureDensity($0, $1) }
        table.register(CurvatureNoise.self, execution: .background) { try self.curvatureNoise($0, $1) }
        table.register(CurvatureLandscape.self, execution: .background) { try self.curvatureLandscape($0, $1) }
        table.register(CurvatureHVP.self, execution: .background) { try self.curvatureHVP($0, $1) }
        table.register(CurvatureBlocks.self, execution: .background) { try self.curvatureBlocks($0, $1) }
        table.register(CurvatureRitz.self) { try self.curvatureRitz($0, $1) }
    }
}
