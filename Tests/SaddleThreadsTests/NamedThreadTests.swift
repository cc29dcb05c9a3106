import Foundation
import Synchronization
import XCTest
@testable import SaddleThreads

final class NamedThreadTests: XCTestCase {
    /// The OS names of this process's threads, from /proc (Linux).
    private func osThreadNames() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").compactMap { task in
            try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8)
                .trimmingCharacters(in: .newlines)
        }
    }

    func testAThreadCarriesTheFirst15BytesOfItsNameWhereTheOSShowsIt() throws {
        #if os(Linux)
            let release = Atomic<Bool>(false), started = Atomic<Int>(0)
            for name in ["saddle.run.r0a9x3k2m1q8z", "curvature/eigen"] {
                NamedThread.start(name: name) {
                    started.add(1, ordering: .relaxed)
                    while !release.load(ordering: .acquiring) { Thread.sleep(forTimeInterval: 0.001) }
                }
            }
            defer { release.store(true, ordering: .releasing) }
            let deadline = Date().addingTimeInterval(5)
            while started.load(ordering: .relaxed) < 2 && Date() < deadline { Thread.sleep(forTimeInterval: 0.001) }
            let names = try osThreadNames()
            XCTAssertTrue(names.contains("saddle.run.r0a9"), "\(names)")
            XCTAssertTrue(names.contains("curvature/eigen"), "\(names)")
        #else
            throw XCTSkip("thread names are read from Linux's /proc")
        #endif
    }

    func testTheOSNameIsCutAtAWholeCharacter() {
        XCTAssertEqual(NamedThread.osName("saddle.diagnose.r123"), "saddle.diagnose")
        XCTAssertEqual(NamedThread.osName("short"), "short")
        // "λ" is two bytes in UTF-8: after 14 bytes it would end at byte 16, so the name keeps 14 bytes; after 13
        // it ends at byte 15 and stays.
        XCTAssertEqual(NamedThread.osName("saddle.run.abcλx"), "saddle.run.abc")
        XCTAssertEqual(NamedThread.osName("saddle.run.abλx"), "saddle.run.abλ")
    }
}
