import XCTest
@testable import SaddleRPC

final class FrameDecoderTests: XCTestCase {
    private func decode(_ chunks: [[UInt8]], maxFrameBytes: Int = 1 << 20) -> ([FrameDecoder.Event], Int) {
        var decoder = FrameDecoder(maxFrameBytes: maxFrameBytes)
        var events: [FrameDecoder.Event] = []
        for chunk in chunks { chunk.withUnsafeBytes { decoder.feed($0) { events.append($0.owned) } } }
        return (events, decoder.bufferedByteCount)
    }

    private let bodies = [#"{"jsonrpc":"2.0","id":1,"method":"a"}"#, #"{"x":"é"}"#, "[]"]
    private var stream: [UInt8] {
        var s: [UInt8] = Array(
            "Content-Length: \(bodies[0].utf8.count)\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n\(bodies[0])"
                .utf8)
        s += Array("content-length: \(bodies[1].utf8.count)\r\nX-Unknown: yes\r\n\r\n\(bodies[1])".utf8)
        s += FrameEncoder.encode(Array(bodies[2].utf8))
        return s
    }

    func testSplitsAtEveryPairOfPointsGiveTheSameFrames() {
        let expected = bodies.map { FrameDecoder.Event.frame(Array($0.utf8)) }
        let bytes = stream
        XCTAssertEqual(decode([bytes]).0, expected)
        for i in 0...bytes.count {
            for j in stride(from: i, through: bytes.count, by: 7) {
                let chunks = [Array(bytes[..<i]), Array(bytes[i..<j]), Array(bytes[j...])]
                XCTAssertEqual(decode(chunks).0, expected, "split at \(i), \(j)")
            }
        }
        XCTAssertEqual(decode(bytes.map { [$0] }).0, expected, "one byte at a time")
    }

    func testContentLengthCountsBytesNotCharacters() {
        let body = Array(#"{"s":"héllo ✓"}"#.utf8)
        XCTAssertEqual(decode([FrameEncoder.encode(body)]).0, [.frame(body)])
    }

    func testOversizedFrameIsSkippedWithoutBuffering() {
        let big = [UInt8](repeating: 65, count: 5000)
        var chunks: [[UInt8]] = [Array("Content-Length: 5000\r\n\r\n".utf8)]
        chunks += stride(from: 0, to: 5000, by: 1000).map { Array(big[$0..<($0 + 1000)]) }
        chunks.append(FrameEncoder.encode(Array("{}".utf8)))
        var decoder = FrameDecoder(maxFrameBytes: 100)
        var events: [FrameDecoder.Event] = []
        var maxBuffered = 0
        for chunk in chunks {
            chunk.withUnsafeBytes { decoder.feed($0) { events.append($0.owned) } }
            maxBuffered = max(maxBuffered, decoder.bufferedByteCount)
        }
        XCTAssertEqual(events, [.oversized(declared: 5000, limit: 100), .frame(Array("{}".utf8))])
        XCTAssertLessThan(maxBuffered, 100, "the oversized body is never buffered")
    }

    func testMalformedHeadersAreReportedAndTheStreamResynchronizes() {
        let next = FrameEncoder.encode(Array("{}".utf8))
        let cases: [(String, String)] = [
            ("Content-Length: abc\r\n\r\n", "Content-Length must be a non-negative decimal integer"),
            ("Content-Length: -5\r\n\r\n", "Content-Length must be a non-negative decimal integer"),
            ("Content-Type: text/plain\r\n\r\n", "without Content-Length"),
            ("garbage line\r\n\r\n", "without a colon"),
            ("Content-Length: 2\r\nContent-Type: application/json; charset=latin1\r\n\r\n{}", "unsupported charset"),
        ]
        for (header, why) in cases {
            let (events, _) = decode([Array(header.utf8) + next])
            XCTAssertEqual(events.count, 2, header)
            guard case .malformed(let message)? = events.first else { return XCTFail("\(events)") }
            XCTAssertTrue(message.contains(why), "\(message) should contain \(why)")
            XCTAssertEqual(events.last, .frame(Array("{}".utf8)), "recovers after \(header)")
        }
    }

    func testOverlongHeaderIsReported() {
        let header = [UInt8](repeating: 120, count: 10_000)
        let (events, buffered) = decode([header, FrameEncoder.encode(Array("[1]".utf8))])
        XCTAssertEqual(events.count, 2)
        XCTAssertEqual(events.last, .frame(Array("[1]".utf8)))
        XCTAssertLessThan(buffered, 100)
    }

    func testEmptyBodyIsAFrame() {
        XCTAssertEqual(decode([Array("Content-Length: 0\r\n\r\n".utf8)]).0, [.frame([])])
    }
}
