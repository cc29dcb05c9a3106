extension Evidence {
    /// The numeric fields, by key path (for merging evidence measured in different places).
    static var numericFields: [WritableKeyPath<Evidence, Double?>] {
        [
            \.gradNorm, \.earlyGradNorm, \.loss, \.lambdaMax, \.lambdaMin, \.spectralRatio, \.negativeSpectralMass,
            \.hessianTrace, \.zeroEigenvalueShare, \.gradientCosine, \.noiseScale, \.learningRate, \.deadFraction,
            \.saturatedFraction, \.dataWaitShare, \.throughputChange, \.repeatedBatchShare, \.labelEntropy,
        ]
    }

    /// Takes every field `measured` has: evidence measured elsewhere (e.g. curvature computed in PyTorch
    /// for a model the daemon does not hold) wins over what was derived here; fields it lacks stay.
    public mutating func adopt(_ measured: Evidence) {
        for field in Self.numericFields where measured[keyPath: field] != nil {
            self[keyPath: field] = measured[keyPath: field]
        }
        eigenvalueCounts = measured.eigenvalueCounts ?? eigenvalueCounts
        batchSize = measured.batchSize ?? batchSize
        escapeProbe = measured.escapeProbe ?? escapeProbe
        perturbationProbe = measured.perturbationProbe ?? perturbationProbe
        parameterCount = measured.parameterCount ?? parameterCount
        worldSize = measured.worldSize ?? worldSize
        if !measured.history.isEmpty { history = measured.history }
        if !measured.ranks.isEmpty { ranks = measured.ranks }
    }
}
