import SaddleJSON

extension JSONReader {
    /// An optional number that may be non-finite ("NaN", "Infinity" on the wire): evidence of divergence.
    fileprivate func optionalAnyDouble() throws(JSONShapeError) -> Double? {
        isAbsent ? nil : try double(finite: false)
    }
}

extension StepRecord: JSONDecodable, JSONEncodable {
    /// The names of a step event (`run/step`, `run/ingest`, run histories, metrics logs), so that a
    /// history is the same JSON wherever it comes from. `rank` and `worldSize` are accepted and not used
    /// (per-rank histories go to ``RankAnalysis`` first).
    static let fields: Set<String> = [
        "step", "loss", "gradNorm", "lr", "weightNorm", "dataWaitSeconds", "computeSeconds", "samplesPerSecond",
        "fingerprint", "labelHistogram", "rank", "epoch", "allreduceSeconds", "worldSize",
    ]

    /// `{step, loss, gradNorm?, lr?, weightNorm?, dataWaitSeconds?, computeSeconds?, samplesPerSecond?,
    /// fingerprint?, labelHistogram?, rank?, epoch?}`; loss and norms may be "NaN"/"Infinity"; unknown
    /// members are rejected.
    public init(from reader: JSONReader) throws(JSONShapeError) {
        _ = try reader.object(allowing: Self.fields)
        var histogram: [Int]?
        if let bins = try reader["labelHistogram"].optionalArray() {
            var counts: [Int] = []
            for bin in bins { counts.append(try bin.int(min: 0)) }
            histogram = counts
        }
        self.init(
            step: try reader["step"].int(), loss: try reader["loss"].double(finite: false),
            gradNorm: try reader["gradNorm"].optionalAnyDouble(),
            learningRate: try reader["lr"].optionalDouble(min: 0),
            weightNorm: try reader["weightNorm"].optionalAnyDouble(),
            dataWait: try reader["dataWaitSeconds"].optionalDouble(min: 0),
            compute: try reader["computeSeconds"].optionalDouble(min: 0),
            throughput: try reader["samplesPerSecond"].optionalDouble(min: 0),
            fingerprint: try reader["fingerprint"].optionalString(), labelHistogram: histogram,
            epoch: try reader["epoch"].optionalInt(min: 0),
            allreduceWait: try reader["allreduceSeconds"].optionalDouble(min: 0))
    }

    public var json: JSON {
        var o: [String: JSON] = ["step": .int(step), "loss": JSON.number(loss)]
        if let gradNorm { o["gradNorm"] = JSON.number(gradNorm) }
        if let learningRate { o["lr"] = JSON.number(learningRate) }
        if let weightNorm { o["weightNorm"] = JSON.number(weightNorm) }
        if let dataWait { o["dataWaitSeconds"] = JSON.number(dataWait) }
        if let compute { o["computeSeconds"] = JSON.number(compute) }
        if let throughput { o["samplesPerSecond"] = JSON.number(throughput) }
        if let fingerprint { o["fingerprint"] = .string(fingerprint) }
        if let labelHistogram { o["labelHistogram"] = .array(labelHistogram.map { .int($0) }) }
        if let epoch { o["epoch"] = .int(epoch) }
        if let allreduceWait { o["allreduceSeconds"] = JSON.number(allreduceWait) }
        return .object(o)
    }
}

extension EigenvalueCounts: JSONDecodable, JSONEncodable {
    public init(from reader: JSONReader) throws(JSONShapeError) {
        _ = try reader.object(allowing: ["negative", "zero", "positive"])
        self.init(
            negative: try reader["negative"].int(min: 0), zero: try reader["zero"].int(min: 0),
            positive: try reader["positive"].int(min: 0))
    }
    public var json: JSON { ["negative": .int(negative), "zero": .int(zero), "positive": .int(positive)] }
}

extension EscapeProbe.Result: JSONDecodable, JSONEncodable {
    public init(from reader: JSONReader) throws(JSONShapeError) {
        _ = try reader.object(allowing: ["baseLoss", "stepSizes", "lossPlus", "lossMinus", "bestDecrease", "bestStep"])
        let steps = try reader["stepSizes"].doubles()
        let plus = try reader["lossPlus"].doubles(finite: false)
        let minus = try reader["lossMinus"].doubles(finite: false)
        guard plus.count == steps.count else { throw reader["lossPlus"].fail("must have one loss per step size") }
        guard minus.count == steps.count else { throw reader["lossMinus"].fail("must have one loss per step size") }
        self.init(
            baseLoss: try reader["baseLoss"].double(finite: false), stepSizes: steps, lossPlus: plus,
            lossMinus: minus, bestDecrease: try reader["bestDecrease"].double(finite: false),
            bestStep: try reader["bestStep"].double())
    }
    public var json: JSON {
        [
            "baseLoss": JSON.number(baseLoss), "stepSizes": JSON.numbers(stepSizes), "lossPlus": JSON.numbers(lossPlus),
            "lossMinus": JSON.numbers(lossMinus), "bestDecrease": JSON.number(bestDecrease),
            "bestStep": JSON.number(bestStep),
        ]
    }
}

extension PerturbationProbe.Result: JSONDecodable, JSONEncodable {
    public init(from reader: JSONReader) throws(JSONShapeError) {
        _ = try reader.object(allowing: [
            "baseLoss", "decreases", "bestDecrease", "probes", "radius", "steps",
            "learningRate", "seed",
        ])
        self.init(
            baseLoss: try reader["baseLoss"].double(finite: false),
            decreases: try reader["decreases"].doubles(finite: false),
            bestDecrease: try reader["bestDecrease"].double(finite: false), probes: try reader["probes"].int(min: 1),
            radius: try reader["radius"].double(min: 0), steps: try reader["steps"].int(min: 0),
            learningRate: try reader["learningRate"].double(min: 0),
            seed: UInt64(bitPattern: Int64(try reader["seed"].int(default: 0))))
    }
    public var json: JSON {
        [
            "baseLoss": JSON.number(baseLoss), "decreases": JSON.numbers(decreases),
            "bestDecrease": JSON.number(bestDecrease), "probes": .int(probes), "radius": JSON.number(radius),
            "steps": .int(steps), "learningRate": JSON.number(learningRate),
            // Seeds above Int64.max travel as their bit pattern.
            "seed": .int(Int64(bitPattern: seed)),
        ]
    }
}

extension Evidence: JSONDecodable, JSONEncodable {
    /// The member names of the JSON form, which are also the names ``Diagnosis/missing`` uses.
    public static let fieldNames: [String] = [
        "gradNorm", "earlyGradNorm", "loss", "lambdaMax", "lambdaMin", "spectralRatio", "negativeSpectralMass",
        "hessianTrace", "eigenvalueCounts", "zeroEigenvalueShare", "history", "gradientCosine", "noiseScale",
        "batchSize", "learningRate", "deadFraction", "saturatedFraction", "dataWaitShare", "throughputChange",
        "repeatedBatchShare", "labelEntropy", "escapeProbe", "perturbationProbe", "parameterCount", "ranks",
        "worldSize",
    ]

    /// Every member optional; unknown members rejected with the list of valid ones. Loss, gradient norm
    /// and eigenvalues may be "NaN" / "Infinity"; shares must lie in [0, 1].
    public init(from reader: JSONReader) throws(JSONShapeError) {
        self.init()
        if reader.isAbsent { return }
        _ = try reader.object(allowing: Set(Self.fieldNames))
        gradNorm = try reader["gradNorm"].optionalAnyDouble()
        earlyGradNorm = try reader["earlyGradNorm"].optionalDouble(min: 0)
        loss = try reader["loss"].optionalAnyDouble()
        lambdaMax = try reader["lambdaMax"].optionalAnyDouble()
        lambdaMin = try reader["lambdaMin"].optionalAnyDouble()
        spectralRatio = try reader["spectralRatio"].optionalAnyDouble()
        negativeSpectralMass = try reader["negativeSpectralMass"].optionalDouble(min: 0, max: 1)
        hessianTrace = try reader["hessianTrace"].optionalAnyDouble()
        eigenvalueCounts = try reader["eigenvalueCounts"].decodeIfPresent(EigenvalueCounts.self)
        zeroEigenvalueShare = try reader["zeroEigenvalueShare"].optionalDouble(min: 0, max: 1)
        if let records = try reader["history"].optionalArray() {
            var list: [StepRecord] = []
            for record in records { list.append(try StepRecord(from: record)) }
            history = list
        }
        gradientCosine = try reader["gradientCosine"].optionalDouble(min: -1, max: 1)
        noiseScale = try reader["noiseScale"].optionalDouble(min: 0)
        batchSize = try reader["batchSize"].optionalInt(min: 1)
        learningRate = try reader["learningRate"].optionalDouble(min: 0)
        deadFraction = try reader["deadFraction"].optionalDouble(min: 0, max: 1)
        saturatedFraction = try reader["saturatedFraction"].optionalDouble(min: 0, max: 1)
        dataWaitShare = try reader["dataWaitShare"].optionalDouble(min: 0, max: 1)
        throughputChange = try reader["throughputChange"].optionalDouble(min: -1)
        repeatedBatchShare = try reader["repeatedBatchShare"].optionalDouble(min: 0, max: 1)
        labelEntropy = try reader["labelEntropy"].optionalDouble(min: 0, max: 1)
        escapeProbe = try reader["escapeProbe"].decodeIfPresent(EscapeProbe.Result.self)
        perturbationProbe = try reader["perturbationProbe"].decodeIfPresent(PerturbationProbe.Result.self)
        parameterCount = try reader["parameterCount"].optionalInt(min: 0)
        if let list = try reader["ranks"].optionalArray() {
            var summaries: [RankSummary] = []
            for item in list { summaries.append(try RankSummary(from: item)) }
            ranks = summaries
        }
        worldSize = try reader["worldSize"].optionalInt(min: 1)
    }

    public var json: JSON {
        var o: [String: JSON] = [:]
        func put(_ name: String, _ value: Double?) { if let value { o[name] = JSON.number(value) } }
        put("gradNorm", gradNorm)
        put("earlyGradNorm", earlyGradNorm)
        put("loss", loss)
        put("lambdaMax", lambdaMax)
        put("lambdaMin", lambdaMin)
        put("spectralRatio", spectralRatio)
        put("negativeSpectralMass", negativeSpectralMass)
        put("hessianTrace", hessianTrace)
        if let eigenvalueCounts { o["eigenvalueCounts"] = eigenvalueCounts.json }
        put("zeroEigenvalueShare", zeroEigenvalueShare)
        if !history.isEmpty { o["history"] = .array(history.map(\.json)) }
        put("gradientCosine", gradientCosine)
        put("noiseScale", noiseScale)
        if let batchSize { o["batchSize"] = .int(batchSize) }
        put("learningRate", learningRate)
        put("deadFraction", deadFraction)
        put("saturatedFraction", saturatedFraction)
        put("dataWaitShare", dataWaitShare)
        put("throughputChange", throughputChange)
        put("repeatedBatchShare", repeatedBatchShare)
        put("labelEntropy", labelEntropy)
        if let escapeProbe { o["escapeProbe"] = escapeProbe.json }
        if let perturbationProbe { o["perturbationProbe"] = perturbationProbe.json }
        if let parameterCount { o["parameterCount"] = .int(parameterCount) }
        if !ranks.isEmpty { o["ranks"] = .array(ranks.map(\.json)) }
        if let worldSize { o["worldSize"] = .int(worldSize) }
        return .object(o)
    }
}

extension RankSummary: JSONDecodable, JSONEncodable {
    static let fields: Set<String> = [
        "rank", "steps", "lastStep", "loss", "earlyLoss", "compute", "dataWait", "allreduceWait", "repeatedBatchShare",
        "epochRepeatShare", "sharedBatchShare", "nonFiniteStep",
    ]

    /// `{rank, steps, lastStep, loss?, earlyLoss?, compute?, dataWait?, allreduceWait?, repeatedBatchShare?,
    /// epochRepeatShare?, sharedBatchShare?, nonFiniteStep?}`; times in seconds, shares in [0, 1].
    public init(from reader: JSONReader) throws(JSONShapeError) {
        _ = try reader.object(allowing: Self.fields)
        self.init(
            rank: try reader["rank"].int(min: 0), steps: try reader["steps"].int(min: 0),
            lastStep: try reader["lastStep"].int(),
            loss: try reader["loss"].optionalAnyDouble(), earlyLoss: try reader["earlyLoss"].optionalAnyDouble(),
            compute: try reader["compute"].optionalDouble(min: 0),
            dataWait: try reader["dataWait"].optionalDouble(min: 0),
            allreduceWait: try reader["allreduceWait"].optionalDouble(min: 0),
            repeatedBatchShare: try reader["repeatedBatchShare"].optionalDouble(min: 0, max: 1),
            epochRepeatShare: try reader["epochRepeatShare"].optionalDouble(min: 0, max: 1),
            sharedBatchShare: try reader["sharedBatchShare"].optionalDouble(min: 0, max: 1),
            nonFiniteStep: try reader["nonFiniteStep"].optionalInt())
    }

    public var json: JSON {
        var o: [String: JSON] = ["rank": .int(rank), "steps": .int(steps), "lastStep": .int(lastStep)]
        func put(_ name: String, _ value: Double?) { if let value { o[name] = JSON.number(value) } }
        put("loss", loss)
        put("earlyLoss", earlyLoss)
        put("compute", compute)
        put("dataWait", dataWait)
        put("allreduceWait", allreduceWait)
        put("repeatedBatchShare", repeatedBatchShare)
        put("epochRepeatShare", epochRepeatShare)
        put("sharedBatchShare", sharedBatchShare)
        if let nonFiniteStep { o["nonFiniteStep"] = .int(nonFiniteStep) }
        return .object(o)
    }
}
