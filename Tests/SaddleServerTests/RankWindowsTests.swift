import SaddleDiagnosis
import SaddleRPC
import SaddleTraining
import XCTest
@testable import SaddleServer

final class RankWindowsTests: XCTestCase {
    func events(_ steps: Range<Int>, ranks: Range<Int> = 0..<2, loss: Double = 1) -> [StepEvent] {
        ranks.flatMap { rank in steps.map { StepEvent(runId: "r", rank: rank, step: $0, loss: loss, worldSize: 2) } }
    }

    func testWindowsKeepTheFirstAndLatestStepsAndFollowIngestion() throws {
        let windows = RankWindows()
        var loads = 0
        let first = try windows.window("r") { () throws(RPCError) -> [StepEvent] in
            loads += 1; return events(0..<10)
        }
        XCTAssertEqual(first.ranks.count, 2)
        XCTAssertEqual(first.worldSize, 2)
        windows.record("r", events(10..<1000))
        windows.record("r", events(900..<901, loss: 7))  // a step sent again replaces the one held
        let w = try windows.window("r") { () throws(RPCError) -> [StepEvent] in
            loads += 1; return []
        }
        XCTAssertEqual(loads, 1, "a distributed run's windows are built once")
        let steps = try XCTUnwrap(w.ranks[1]).records.map(\.step)
        XCTAssertEqual(Array(steps.prefix(RankWindow.headCount)), Array(0..<RankWindow.headCount))
        XCTAssertEqual(Array(steps.suffix(RankWindow.tailCount)), Array((1000 - RankWindow.tailCount)..<1000))
        XCTAssertEqual(steps.count, RankWindow.headCount + RankWindow.tailCount)
        XCTAssertEqual(w.ranks[0]?.records.first { $0.step == 900 }?.loss, 7)
    }

    func testOneRankRunsAreNotKept() throws {
        let windows = RankWindows()
        var loads = 0
        for _ in 0..<2 {
            let w = try windows.window("solo") { () throws(RPCError) -> [StepEvent] in
                loads += 1
                return events(0..<5, ranks: 0..<1)
            }
            XCTAssertEqual(w.ranks.count, 1)
        }
        XCTAssertEqual(loads, 2, "one-rank runs are read from the store each time (their whole history counts)")
    }

    func testRanksOverTheLimitDropTheLeastRecentlyDiagnosedRun() throws {
        let windows = RankWindows()
        let many = RankWindows.rankLimit / 2 + 1
        var loads = 0
        for run in ["a", "b", "a"] {
            _ = try windows.window(run) { () throws(RPCError) -> [StepEvent] in
                loads += 1
                return (0..<many).map { StepEvent(runId: run, rank: $0, step: 0, loss: 1) }
            }
        }
        XCTAssertEqual(loads, 3, "b's windows pushed a's out: a is read again")
    }
}
