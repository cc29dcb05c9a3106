import Foundation
import XCTest

@testable import SaddleJSON

/// Large texts parse through a per-thread arena (ParseArena); the result must not depend on it.
final class ParseArenaTests: XCTestCase {
    /// A run/ingest-like text of `count` events, with strings, nested arrays, escapes and big numbers.
    private static func event(_ i: Int, salt: Int) -> JSON {
        var o: [String: JSON] = [:]
        o["step"] = .int(Int64(i))
        o["loss"] = .double(1 / Double(i + salt + 1))
        o["lr"] = .double(0.01)
        o["samplesPerSecond"] = .double(1e5 + Double(i))
        o["fingerprint"] = .string("f\(i)\u{e9}\"\\")
        o["labelHistogram"] = .array([.int(Int64(i % 7)), .int(Int64.max), .int(Int64.min)])
        let inner: [JSON] = [.null, .bool(true), .bool(false), .object([:])]
        o["nested"] = .object(["a": .array(inner)])
        return .object(o)
    }

    private static func events(_ count: Int, salt: Int = 0) -> JSON {
        let steps: [JSON] = (0..<count).map { event($0, salt: salt) }
        return .object(["run": .string("r\(salt)"), "steps": .array(steps)])
    }

    func testLargeTextsParseToTheSameValueAsThroughMalloc() throws {
        for count in [0, 1, 10, 1000, 5000] {
            let value = Self.events(count)
            let text = try value.serialized()
            if count >= 1000 { XCTAssertGreaterThanOrEqual(text.count, ParseArena.minimumInput, "takes the arena path") }
            XCTAssertEqual(try JSON.parse(text), value, "\(count) events")
            // Again on the same thread: the arena is reused after its reset.
            XCTAssertEqual(try JSON.parse(text), value)
        }
        // A small text (malloc path) between large ones.
        XCTAssertEqual(try JSON.parse(#"{"a":[1,2.5,"x"]}"#), ["a": [1, 2.5, "x"]])
    }

    func testErrorsInLargeTextsAreReportedAndTheArenaRecovers() throws {
        var text = try Self.events(200).serialized()
        let good = try JSON.parse(text)
        // Truncated: jansson frees its partial tree into the arena.
        XCTAssertThrowsError(try JSON.parse(Array(text.dropLast(10)))) { error in
            guard case .syntax = error as? JSONError else { return XCTFail("\(error)") }
        }
        // A duplicate key deep inside.
        let marker = Array(#""lr":0.01"#.utf8)
        if let at = text.firstRange(of: marker) {
            text.replaceSubrange(at, with: Array(#""lr":0.01,"lr":0.02"#.utf8))
        }
        XCTAssertThrowsError(try JSON.parse(text)) { error in
            guard case .syntax(let message, _, _, _) = error as? JSONError else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("duplicate"), message)
        }
        // Too deep for maxDepth, found while converting (the tree is dropped with the arena).
        XCTAssertThrowsError(try JSON.parse(try good.serialized(), maxDepth: 3)) { error in
            XCTAssertEqual(error as? JSONError, .tooDeep(limit: 3))
        }
        XCTAssertEqual(try JSON.parse(try good.serialized()), good)
    }

    func testThreadsParseAndSerializeConcurrently() throws {
        // Arenas are per thread; serialization (malloc) runs meanwhile on the same threads.
        let texts = try (0..<4).map { try Self.events(300, salt: $0).serialized() }
        let expected = try texts.map { try JSON.parse($0) }
        let mismatches = Locked(0)
        DispatchQueue.concurrentPerform(iterations: 8) { t in
            for round in 0..<15 {
                let k = (t + round) % texts.count
                let parsed = try? JSON.parse(texts[k])
                let written = try? expected[k].serialized()
                if parsed != expected[k] || written != texts[k] { mismatches.add(1) }
            }
        }
        XCTAssertEqual(mismatches.value, 0)
        // A thread that parsed big texts and exits releases its arena (no crash at thread exit).
        let done = expectation(description: "thread")
        let text = texts[0]
        Thread {
            _ = try? JSON.parse(text)
            done.fulfill()
        }.start()
        wait(for: [done], timeout: 10)
    }
}

/// A counter shared by test threads.
private final class Locked: @unchecked Sendable {
    private let lock = NSLock()
    private var count: Int

    init(_ count: Int) { self.count = count }

    func add(_ n: Int) { lock.withLock { count += n } }
    var value: Int { lock.withLock { count } }
}
