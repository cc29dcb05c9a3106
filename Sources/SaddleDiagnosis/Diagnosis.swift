import SaddleJSON

/// How an evidence value was compared with its threshold. Raw values are the wire spelling.
public enum Comparison: String, Sendable, Equatable, CaseIterable {
    case less = "<"
    case lessOrEqual = "<="
    case greater = ">"
    case greaterOrEqual = ">="
    /// |value − threshold| ≤ band (the band is stated in the item's note).
    case within = "within"
    /// The value is not finite (threshold is unused and set to 0).
    case notFinite = "notFinite"
}

/// One number the diagnosis weighed, the threshold it was compared with, and what it says.
public struct EvidenceItem: Sendable, Equatable {
    /// A stable identifier, e.g. `lambdaMin`, `gradNorm`, `dataWaitShare`.
    public var name: String
    /// The measured value; may be NaN or infinite (sent as strings on the wire).
    public var value: Double
    public var threshold: Double
    /// The comparison `value comparison threshold` that was tested.
    public var comparison: Comparison
    /// Whether that comparison held.
    public var holds: Bool
    /// The verdict this item bears on.
    public var concerns: Verdict
    /// True when the item supports ``concerns``; false when it argues against it.
    public var supports: Bool
    /// Whether the verdict rests on this item.
    public var decisive: Bool
    public var note: String
    /// The ranks this item is about (distributed runs); nil for the whole run.
    public var ranks: [Int]?

    public init(
        name: String, value: Double, threshold: Double, comparison: Comparison, holds: Bool,
        concerns: Verdict, supports: Bool, decisive: Bool = false, note: String, ranks: [Int]? = nil
    ) {
        self.ranks = ranks
        self.name = name
        self.value = value
        self.threshold = threshold
        self.comparison = comparison
        self.holds = holds
        self.concerns = concerns
        self.supports = supports
        self.decisive = decisive
        self.note = note
    }

    /// The wire value of `pointsTo`: the verdict's name, or `"against"`.
    public var pointsTo: String { supports ? concerns.rawValue : "against" }
}

/// A remedy that fits the verdict and its evidence.
public struct Recommendation: Sendable, Equatable {
    /// Stable identifier, e.g. `momentum`, `negativeCurvatureStep`.
    public var id: String
    public var text: String
    public init(id: String, text: String) {
        self.id = id
        self.text = text
    }
}

/// The result of a diagnosis: a verdict, how sure it is, the evidence, remedies, and what was missing.
public struct Diagnosis: Sendable, Equatable {
    public var verdict: Verdict
    /// In [0, 1]; see ``Diagnoser`` for how it is computed.
    public var confidence: Double
    /// One sentence: why this verdict.
    public var reason: String
    /// Every item weighed, in the order the procedure weighed them.
    public var evidence: [EvidenceItem]
    public var recommendations: [Recommendation]
    /// Names of ``Evidence`` fields that were absent and would have sharpened the verdict.
    public var missing: [String]
    /// For a distributed run: which ranks reported, which the verdict names, and each rank's summary.
    public var ranks: RankDiagnosis?

    public init(
        verdict: Verdict, confidence: Double, reason: String, evidence: [EvidenceItem],
        recommendations: [Recommendation], missing: [String], ranks: RankDiagnosis? = nil
    ) {
        self.ranks = ranks
        self.verdict = verdict
        self.confidence = confidence
        self.reason = reason
        self.evidence = evidence
        self.recommendations = recommendations
        self.missing = missing
    }
}

extension EvidenceItem: JSONEncodable {
    public var json: JSON {
        var o: [String: JSON] = [
            "name": .string(name), "value": JSON.number(value), "threshold": JSON.number(threshold),
            "comparison": .string(comparison.rawValue), "holds": .bool(holds), "pointsTo": .string(pointsTo),
            "concerns": .string(concerns.rawValue), "decisive": .bool(decisive), "note": .string(note),
        ]
        if let ranks { o["ranks"] = .array(ranks.map { .int($0) }) }
        return .object(o)
    }
}

extension Recommendation: JSONEncodable {
    public var json: JSON { ["id": .string(id), "text": .string(text)] }
}

extension Diagnosis: JSONEncodable {
    /// `{verdict, confidence, reason, evidence: [...], recommendations: [...], missing: [...]}`; non-finite
    /// numbers as the strings "NaN", "Infinity", "-Infinity".
    public var json: JSON {
        var o: [String: JSON] = [
            "verdict": .string(verdict.rawValue), "confidence": JSON.number(confidence), "reason": .string(reason),
            "evidence": .array(evidence.map(\.json)), "recommendations": .array(recommendations.map(\.json)),
            "missing": .array(missing.map { .string($0) }),
        ]
        if let ranks { o["ranks"] = ranks.json }
        return .object(o)
    }
}

/// The distributed part of a diagnosis: who reported and whom the verdict names. Each rank's summary is in
/// the evidence (``Evidence/ranks``, `evidenceInput.ranks` on the wire), not repeated here: at hundreds of
/// ranks the summaries are most of the answer.
public struct RankDiagnosis: Sendable, Equatable, JSONEncodable {
    /// The world size reported, or the highest rank seen + 1.
    public var worldSize: Int
    public var reporting: [Int]
    /// Ranks below `worldSize` that reported no step.
    public var missing: [Int]
    /// Ranks the verdict names (all ranks for a stall they share; empty for a healthy run).
    public var implicated: [Int]

    public init(worldSize: Int, reporting: [Int], missing: [Int], implicated: [Int]) {
        self.worldSize = worldSize
        self.reporting = reporting
        self.missing = missing
        self.implicated = implicated
    }

    public var json: JSON {
        [
            "worldSize": .int(worldSize), "reporting": .array(reporting.map { .int($0) }),
            "missing": .array(missing.map { .int($0) }), "implicated": .array(implicated.map { .int($0) }),
        ]
    }
}
