import Foundation
import SaddleRPC
import XCTest

#if canImport(Glibc)
    import Glibc
#endif

/// The socket client's output: order, the backlog limit, and closing exactly once.
final class ClientSinkTests: XCTestCase {
    override func setUp() {
        // As in saddled: a vanished peer must show up as a failed write, not a signal (FileDescriptorSink's contract).
        signal(SIGPIPE, SIG_IGN)
    }

    private func socketPair() -> (Int32, Int32) {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds), 0)
        return (fds[0], fds[1])
    }

    /// Reads the peer until end of input (or `limit` bytes).
    private func readAll(_ fd: Int32, limit: Int = .max) -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while out.count < limit {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return out
    }

    func testBytesArriveInOrderAndTheSocketClosesOnceInputFinishes() {
        let (mine, peer) = socketPair()
        let closed = expectation(description: "closed")
        let sink = ClientSink(fd: mine, label: "test client", maxBacklogBytes: 1 << 20) { closed.fulfill() }
        var expected: [UInt8] = []
        for i in 0..<200 {
            let bytes = [UInt8](repeating: UInt8(i % 251), count: 1000 + i)
            expected += bytes
            XCTAssertTrue(bytes.withUnsafeBytes { sink.write($0) })
        }
        sink.finishInput()
        let received = readAll(peer)  // ends at EOF: the sink closed its descriptor after draining
        XCTAssertEqual(received, expected, "every byte, in order")
        wait(for: [closed], timeout: 5)
        XCTAssertFalse([1, 2, 3].withUnsafeBytes { sink.write($0) }, "no writes after close")
        XCTAssertFalse(sink.wasDropped)
        close(peer)
    }

    func testAClientThatDoesNotReadIsDroppedAtTheBacklogLimitWithoutBlockingTheWriter() {
        let (mine, peer) = socketPair()
        let sink = ClientSink(fd: mine, label: "stalled client", maxBacklogBytes: 64 << 10)
        let chunk = [UInt8](repeating: 7, count: 4096)
        let start = Date()
        var accepted = 0
        // The kernel buffer (a few hundred KiB) fills, then the backlog (64 KiB): the write that would pass it fails.
        while accepted < 10_000, chunk.withUnsafeBytes({ sink.write($0) }) { accepted += 1 }
        XCTAssertLessThan(Date().timeIntervalSince(start), 5, "writes never block on the peer")
        XCTAssertTrue(sink.wasDropped)
        XCTAssertLessThan(accepted, 10_000)
        // What was queued before the drop is bounded by the kernel buffer plus the backlog.
        let received = readAll(peer, limit: 64 << 20)
        XCTAssertLessThanOrEqual(received.count, accepted * chunk.count)
        sink.finishInput()
        close(peer)
    }
}
