import SaddleJSON
import XCTest
@testable import SaddleDiagnosis

/// The cross-rank step on synthetic per-rank histories of a 4-rank data-parallel run: each condition
/// the issue names, the healthy run, and a stall every rank shares (decided by curvature).
final class CrossRankTests: XCTestCase {
    /// 4 ranks × 60 steps, 8 batches per epoch, a loss falling from 2 with small per-rank offsets, 2 ms
    /// compute, 0.2 ms data wait; `edit` changes a rank's record.
    func histories(ranks: Int = 4, steps: Int = 60, edit: (Int, inout StepRecord) -> Void = { _, _ in })
        -> [Int: [StepRecord]]
    {
        var out: [Int: [StepRecord]] = [:]
        for rank in 0..<ranks {
            out[rank] = (0..<steps).map { step in
                var r = StepRecord(
                    step: step, loss: 2 * (1 - 0.01 * Double(step)) + 0.01 * Double(rank), gradNorm: 1,
                    learningRate: 0.1, dataWait: 0.0002, compute: 0.002, fingerprint: "e\(step / 8)-r\(rank)-b\(step % 8)",
                    labelHistogram: [4, 4], epoch: step / 8, allreduceWait: 0.0005)
                edit(rank, &r)
                return r
            }
        }
        return out
    }

    func diagnose(_ histories: [Int: [StepRecord]], worldSize: Int? = 4, _ extra: (inout Evidence) -> Void = { _ in })
        -> Diagnosis
    {
        var evidence = Evidence()
        evidence.history = RankAnalysis.consensus(histories)
        evidence.ranks = RankAnalysis.summarize(histories, thresholds: Thresholds())
        evidence.worldSize = worldSize
        extra(&evidence)
        return Diagnoser.diagnose(evidence)
    }

    func testHealthyRunProgressesWithNoRankNamed() {
        let d = diagnose(histories())
        XCTAssertEqual(d.verdict, .progressing, d.reason)
        XCTAssertEqual(d.ranks?.implicated, [])
        XCTAssertEqual(d.ranks?.reporting, [0, 1, 2, 3])
        XCTAssertEqual(d.ranks?.missing, [])
        XCTAssertEqual(d.ranks?.reporting.count, 4)
    }

    func testStragglerIsNamed() {
        let d = diagnose(
            histories { rank, r in
                if rank == 2 { r.compute = 0.032; r.allreduceWait = 0.0002 } else { r.allreduceWait = 0.030 }
            })
        XCTAssertEqual(d.verdict, .straggler, d.reason)
        XCTAssertEqual(d.ranks?.implicated, [2])
        let item = d.evidence.first { $0.name == "rankComputeExcess" }
        XCTAssertEqual(item?.ranks, [2])
        XCTAssertEqual(item?.decisive, true)
        // (32 ms − median 2 ms) / median step 2.2 ms = 13.6.
        XCTAssertEqual(item?.value ?? 0, 0.030 / 0.0022, accuracy: 1e-9)
        XCTAssertEqual(d.evidence.first { $0.name == "allreduceWait" }?.value ?? 0, 0.030, accuracy: 1e-12)
        XCTAssertEqual(d.recommendations.map(\.id), ["stragglerRank"])
    }

    func testOneRanksDataStallIsNamed() {
        let d = diagnose(histories { rank, r in if rank == 1 { r.dataWait = 0.025 } })
        XCTAssertEqual(d.verdict, .dataPipelineStall, d.reason)
        XCTAssertEqual(d.ranks?.implicated, [1])
        XCTAssertEqual(d.evidence.first { $0.name == "rankDataWaitExcess" }?.ranks, [1])
    }

    func testTimerNoiseBelowTheFloorIsNoStraggler() {
        // Rank 3 computes 1.5 ms longer: under both 2 ms and half the median step.
        let d = diagnose(histories { rank, r in if rank == 3 { r.compute = 0.0035 } })
        XCTAssertEqual(d.verdict, .progressing, d.reason)
    }

    func testSamplerNeverToldTheEpochRepeatsOnEveryRank() {
        let d = diagnose(histories { rank, r in r.fingerprint = "r\(rank)-b\(r.step % 8)" })
        XCTAssertEqual(d.verdict, .dataPipelineStall, d.reason)
        XCTAssertEqual(d.ranks?.implicated, [0, 1, 2, 3])
        let item = d.evidence.first { $0.name == "epochRepeatShare" }
        XCTAssertEqual(item?.value, 1)
        XCTAssertEqual(item?.decisive, true)
        XCTAssertTrue(d.recommendations.map(\.id).contains("distributedSampler"))
    }

    func testRanksSharingBatchesAreNamed() {
        let d = diagnose(histories { rank, r in r.fingerprint = "e\(r.step / 8)-b\(r.step % 8)" })
        XCTAssertEqual(d.verdict, .dataPipelineStall, d.reason)
        XCTAssertEqual(d.evidence.first { $0.name == "sharedBatchShare" }?.value, 1)
        XCTAssertEqual(d.ranks?.implicated, [0, 1, 2, 3])
    }

    func testFullBatchTrainingIsNoEpochRepeat() {
        let h = histories { rank, r in
            r.fingerprint = "all-r\(rank)"; r.epoch = r.step
        }
        XCTAssertNil(RankAnalysis.summarize(h, thresholds: Thresholds())[0].epochRepeatShare)
    }

    func testADriftingReplicaIsNamed() {
        let d = diagnose(histories { rank, r in if rank == 3 { r.loss = 2 + 0.05 * Double(r.step) } })
        XCTAssertEqual(d.verdict, .rankDivergence, d.reason)
        XCTAssertEqual(d.ranks?.implicated, [3])
    }

    func testNonFiniteLossOnOneRankIsDivergence() {
        let d = diagnose(histories { rank, r in if rank == 1 && r.step == 55 { r.loss = .nan } })
        XCTAssertEqual(d.verdict, .diverging, d.reason)
        XCTAssertEqual(d.ranks?.implicated, [1])
    }

    /// Every rank flat, the gradient small: the consensus history and the curvature decide.
    func testSharedStallIsDecidedByCurvature() {
        let flat = histories { rank, r in
            r.loss = 0.7 + 0.001 * Double(rank)
            r.gradNorm = r.step < 10 ? 1 : 1e-4
        }
        let saddle = diagnose(flat) {
            $0.lambdaMin = -0.5; $0.lambdaMax = 2
        }
        XCTAssertEqual(saddle.verdict, .saddle, saddle.reason)
        XCTAssertEqual(saddle.ranks?.implicated, [])
        let minimum = diagnose(flat) {
            $0.lambdaMin = 1e-9; $0.lambdaMax = 2
        }
        XCTAssertEqual(minimum.verdict, .localMinimum, minimum.reason)
    }

    func testMissingRanksAreListed() {
        let d = diagnose(histories(ranks: 3), worldSize: 4)
        XCTAssertEqual(d.ranks?.missing, [3])
        XCTAssertEqual(d.evidence.first { $0.name == "ranksReporting" }?.ranks, [3])
    }

    func testConsensusAveragesLossesAndSumsHistograms() {
        let c = RankAnalysis.consensus(histories())
        XCTAssertEqual(c.count, 60)
        XCTAssertEqual(c[0].loss, 2 + 0.015, accuracy: 1e-12)  // mean of the offsets 0, 0.01, 0.02, 0.03
        XCTAssertEqual(c[0].labelHistogram, [16, 16])
        XCTAssertEqual(c[0].fingerprint, "e0-r0-b0")
    }

    /// The evidence (with ranks) round-trips through its JSON form to the same diagnosis.
    func testRankEvidenceReplays() throws {
        var evidence = Evidence()
        let h = histories { rank, r in if rank == 2 { r.compute = 0.032 } }
        evidence.history = RankAnalysis.consensus(h)
        evidence.ranks = RankAnalysis.summarize(h, thresholds: Thresholds())
        evidence.worldSize = 4
        let text = try evidence.json.serializedString()
        let back = try Evidence(from: JSONReader(try JSON.parse(text), path: "evidence"))
        XCTAssertEqual(back.ranks, evidence.ranks)
        XCTAssertEqual(Diagnoser.diagnose(back), Diagnoser.diagnose(evidence))
    }

    /// Quickselect medians equal sorted medians (odd, even, ties, one value).
    func testSelectionMedianMatchesTheSortedMedian() {
        var seed: UInt64 = 42
        func next() -> Double {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Double(seed >> 40) / Double(1 << 24)
        }
        for n in [1, 2, 3, 4, 7, 64, 255, 256] {
            for ties in [false, true] {
                let values = (0..<n).map { _ in ties ? (next() * 4).rounded() : next() }
                XCTAssertEqual(Selection.median(values), HistoryAnalysis.median(values), "n = \(n), ties = \(ties)")
            }
        }
        XCTAssertNil(Selection.median([]))
    }
}
