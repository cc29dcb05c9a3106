import SaddleJSON
import XCTest
@testable import SaddleServer

/// `diagnose` of runs whose steps come from several ranks (a torch.distributed job reporting through
/// `run/ingest`), through the real server.
final class DistributedRunTests: XCTestCase {
    /// Steps `steps` of every rank: a falling loss, 2 ms compute; `edit` changes a rank's step.
    func ingest(
        _ h: ServerHarness, run: String?, steps: Range<Int>, ranks: Int = 4,
        edit: (Int, inout [String: JSON]) -> Void = { _, _ in }
    ) throws -> String {
        var id = run
        for rank in 0..<ranks {
            let events: [JSON] = steps.map { step in
                var e: [String: JSON] = [
                    "rank": .int(rank), "worldSize": 5, "step": .int(step), "epoch": .int(step / 10), "allreduceSeconds": 0.001,
                    "loss": .double(2 - 0.01 * Double(step) + 0.01 * Double(rank)), "gradNorm": 1, "lr": 0.1,
                    "dataWaitSeconds": 0.0002, "computeSeconds": 0.002,
                    "fingerprint": .string("e\(step / 10)-r\(rank)-\(step)"),
                ]
                edit(rank, &e)
                return .object(e)
            }
            var params: [String: JSON] = ["steps": .array(events)]
            if let id { params["run"] = .string(id) } else { params["name"] = "ddp" }
            let answer = try h.call("run/ingest", .object(params))
            id = answer["run"]?.stringValue
        }
        return try XCTUnwrap(id)
    }

    func testAStragglerIsNamedAndEveryRankIsSummarized() throws {
        let h = ServerHarness()
        let run = try ingest(h, run: nil, steps: 0..<60) { rank, e in
            if rank == 2 { e["computeSeconds"] = 0.03 } else { e["allreduceSeconds"] = 0.028 }
        }
        let d = try h.call("diagnose", ["run": .string(run)])
        XCTAssertEqual(d["verdict"], "straggler", "\(d["reason"] ?? .null)")
        XCTAssertEqual(d["ranks"]?["worldSize"], 5)
        XCTAssertEqual(d["ranks"]?["missing"], [4], "rank 4 of 5 never reported")
        XCTAssertEqual(d["evidenceInput"]?["ranks"]?[0]?["allreduceWait"]?.doubleValue ?? 0, 0.028, accuracy: 1e-12)
        let wait = d["evidence"]?.arrayValue?.first { $0["name"] == "allreduceWait" }
        XCTAssertEqual(wait?["value"]?.doubleValue ?? 0, 0.028, accuracy: 1e-12)
        XCTAssertEqual(d["ranks"]?["implicated"], [2])
        XCTAssertEqual(d["ranks"]?["reporting"], [0, 1, 2, 3])
        XCTAssertEqual(d["evidenceInput"]?["ranks"]?.arrayValue?.count, 4)
        XCTAssertEqual(d["evidenceInput"]?["ranks"]?[2]?["compute"]?.doubleValue ?? 0, 0.03, accuracy: 1e-12)
        XCTAssertEqual(d["step"], 59)
        // The result replays: its evidenceInput gives the same verdict as bare evidence.
        let replay = try h.call("diagnose", ["evidence": d["evidenceInput"] ?? .null])
        XCTAssertEqual(replay["verdict"], "straggler")
        XCTAssertEqual(replay["ranks"]?["implicated"], [2])
    }

    /// The windows follow ingestion after the first diagnosis: a data stall that starts later is seen.
    func testWindowsFollowIngestionAfterTheFirstDiagnosis() throws {
        let h = ServerHarness()
        let run = try ingest(h, run: nil, steps: 0..<40)
        XCTAssertEqual(try h.call("diagnose", ["run": .string(run)])["verdict"], "progressing")
        _ = try ingest(h, run: run, steps: 40..<80) { rank, e in if rank == 1 { e["dataWaitSeconds"] = 0.03 } }
        let d = try h.call("diagnose", ["run": .string(run)])
        XCTAssertEqual(d["verdict"], "dataPipelineStall", "\(d["reason"] ?? .null)")
        XCTAssertEqual(d["ranks"]?["implicated"], [1])
        XCTAssertEqual(d["step"], 79)
    }

    /// A stall every rank shares, with curvature measured elsewhere (PyTorch): the curvature decides.
    func testMeasuredCurvatureDecidesASharedStall() throws {
        let h = ServerHarness()
        let run = try ingest(h, run: nil, steps: 0..<60) { rank, e in
            let step = e["step"]?.int64Value ?? 0
            e["loss"] = .double(0.7 + 0.001 * Double(rank))
            e["gradNorm"] = step < 10 ? 1 : 1e-4
        }
        let saddle = try h.call("diagnose", ["run": .string(run), "evidence": ["lambdaMin": -0.4, "lambdaMax": 3]])
        XCTAssertEqual(saddle["verdict"], "saddle", "\(saddle["reason"] ?? .null)")
        XCTAssertEqual(saddle["evidenceInput"]?["lambdaMin"], -0.4)
        XCTAssertEqual(saddle["ranks"]?["implicated"], [])
        let minimum = try h.call("diagnose", ["run": .string(run), "evidence": ["lambdaMin": 1e-9, "lambdaMax": 3]])
        XCTAssertEqual(minimum["verdict"], "localMinimum", "\(minimum["reason"] ?? .null)")
    }

    func testRunWithEvidenceRefusesAHistoryOfItsOwn() throws {
        let h = ServerHarness()
        let run = try ingest(h, run: nil, steps: 0..<5, ranks: 1)
        let answer = h.answer("diagnose", ["run": .string(run), "evidence": ["history": [["step": 0, "loss": 1]]]])
        XCTAssertEqual(answer["error"]?["code"], -32602)
        XCTAssertTrue(answer["error"]?["message"]?.stringValue?.contains("params.evidence.history") == true, "\(answer)")
        // A one-rank run takes measured evidence too, and has no `ranks` part.
        let d = try h.call("diagnose", ["run": .string(run), "evidence": ["lambdaMax": 2]])
        XCTAssertEqual(d["evidenceInput"]?["lambdaMax"]?.doubleValue, 2)
        XCTAssertNil(d["ranks"])
    }
}
