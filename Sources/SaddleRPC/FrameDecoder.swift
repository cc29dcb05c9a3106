/// Splits a byte stream into LSP base-protocol frames (`Content-Length: N\r\n\r\n` + N bytes).
///
/// A pure state machine, fed chunks of any size and split at any byte. Headers are
/// case-insensitive; `Content-Type` is accepted with charset `utf-8` (or the legacy `utf8`);
/// unknown headers are ignored. A frame that declares more than `maxFrameBytes` is skipped
/// without being buffered. A malformed header block is reported once, and the decoder resynchronizes
/// on the next `Content-Length` header so that one bad frame does not lose the connection.
public struct FrameDecoder: Sendable {
    /// What the decoder found in the stream.
    public enum Event: Equatable, Sendable {
        /// A complete frame body (the JSON text).
        case frame([UInt8])
        /// A frame that declared `declared` bytes, over the limit; its body is being skipped.
        case oversized(declared: Int, limit: Int)
        /// A header block that could not be understood (why); bytes were skipped to resynchronize.
        case malformed(String)
    }

    private enum State: Sendable {
        case header
        case body(length: Int)
        case skipping(remaining: Int)
        case resync
    }

    /// The largest body accepted.
    public let maxFrameBytes: Int
    /// The largest header block accepted.
    public let maxHeaderBytes: Int

    private var state: State = .header
    private var buffer: [UInt8] = []
    private var start = 0

    public init(maxFrameBytes: Int = 64 << 20, maxHeaderBytes: Int = 8192) {
        self.maxFrameBytes = maxFrameBytes
        self.maxHeaderBytes = maxHeaderBytes
    }

    /// Bytes buffered and not yet consumed (for tests: an oversized body never appears here).
    public var bufferedByteCount: Int { buffer.count - start }

    /// Feeds a chunk; `emit` is called for every event the chunk completes, in order. For
    /// `.frame`, the body is handed over as a pointer valid only during the call, so that the
    /// hot path copies nothing.
    public mutating func feed(_ chunk: UnsafeRawBufferPointer, emit: (EventView) -> Void) {
        var chunk = chunk[...]
        while true {
            switch state {
            case .skipping(let remaining):
                let n = min(remaining, chunk.count)
                chunk = chunk.dropFirst(n)
                if remaining - n > 0 {
                    state = .skipping(remaining: remaining - n)
                    return
                }
                state = .header
            case .body(let length):
                let have = buffer.count - start
                if have == 0 && chunk.count >= length {
                    // Whole body inside the chunk: hand it over without copying.
                    let body = UnsafeRawBufferPointer(rebasing: chunk.prefix(length))
                    chunk = chunk.dropFirst(length)
                    state = .header
                    emit(.frame(body))
                    continue
                }
                let need = length - have
                let n = min(need, chunk.count)
                buffer.append(contentsOf: chunk.prefix(n))
                chunk = chunk.dropFirst(n)
                guard n == need else { return }
                state = .header
                buffer.withUnsafeBytes { raw in
                    emit(.frame(UnsafeRawBufferPointer(rebasing: raw[start..<(start + length)])))
                }
                start += length
                compact()
            case .header, .resync:
                // Header bytes are few; gather them in the buffer until the blank line.
                if let end = Self.headerEnd(in: buffer, from: start, chunk: chunk) {
                    let fromBuffer = buffer.count - start
                    let fromChunk = end - fromBuffer
                    buffer.append(contentsOf: chunk.prefix(fromChunk))
                    chunk = chunk.dropFirst(fromChunk)
                    let header = Array(buffer[start..<buffer.count])
                    buffer.removeAll(keepingCapacity: true)
                    start = 0
                    handleHeader(header, emit: emit)
                    continue
                }
                buffer.append(contentsOf: chunk)
                chunk = chunk[chunk.endIndex...]
                if buffer.count - start > maxHeaderBytes {
                    if case .header = state {
                        emit(.malformed("header block longer than \(maxHeaderBytes) bytes without a blank line"))
                    }
                    state = .resync
                    // Keep a tail that may hold the start of the next header line.
                    let keep = min(buffer.count - start, 32)
                    buffer = Array(buffer[(buffer.count - keep)...])
                    start = 0
                }
                return
            }
        }
    }

    /// `.frame` carries a borrowed view; the owned `Event` is for tests and logging.
    public enum EventView {
        case frame(UnsafeRawBufferPointer)
        case oversized(declared: Int, limit: Int)
        case malformed(String)

        public var owned: Event {
            switch self {
            case .frame(let body): return .frame(Array(body))
            case .oversized(let d, let l): return .oversized(declared: d, limit: l)
            case .malformed(let why): return .malformed(why)
            }
        }
    }

    /// N when the header block is exactly `Content-Length: N\r\n\r\n` (any case), else nil.
    private static func plainContentLength(_ header: [UInt8]) -> Int? {
        let prefix: [UInt8] = Array("content-length: ".utf8)
        guard header.count > prefix.count + 4, header.count <= prefix.count + 4 + 18 else { return nil }
        for i in 0..<prefix.count {
            let b = header[i]
            guard (b >= 65 && b <= 90 ? b + 32 : b) == prefix[i] else { return nil }
        }
        var value = 0
        for i in prefix.count..<(header.count - 4) {
            let d = header[i]
            guard d >= 48 && d <= 57 else { return nil }
            value = value * 10 + Int(d - 48)
        }
        return value
    }

    private mutating func compact() {
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        } else if start > 4096 && start * 2 > buffer.count {
            buffer.removeFirst(start)
            start = 0
        }
    }

    /// The number of bytes, counted from `start` in buffer then into chunk, up to and including
    /// the first `\r\n\r\n`; nil if there is none yet.
    private static func headerEnd(in buffer: [UInt8], from start: Int, chunk: Slice<UnsafeRawBufferPointer>) -> Int? {
        let bufferCount = buffer.count - start
        let total = bufferCount + chunk.count
        // Only the last 3 buffered bytes can begin a terminator that ends in the chunk.
        var i = max(0, bufferCount - 3)
        let chunkBase = chunk.startIndex
        @inline(__always) func byte(_ k: Int) -> UInt8 {
            k < bufferCount ? buffer[start + k] : chunk.base[chunkBase + (k - bufferCount)]
        }
        while i + 3 < total {
            if byte(i + 3) == 10 {
                if byte(i) == 13 && byte(i + 1) == 10 && byte(i + 2) == 13 { return i + 4 }
                i += 1
            } else if byte(i + 3) == 13 {
                i += 1
            } else {
                i += 4
            }
        }
        return nil
    }

    private mutating func handleHeader(_ header: [UInt8], emit: (EventView) -> Void) {
        if case .header = state, let length = Self.plainContentLength(header) {
            // The common case, "Content-Length: N\r\n\r\n" alone, without building strings.
            if length > maxFrameBytes {
                emit(.oversized(declared: length, limit: maxFrameBytes))
                state = .skipping(remaining: length)
            } else {
                state = .body(length: length)
            }
            return
        }
        let wasResyncing: Bool
        if case .resync = state { wasResyncing = true } else { wasResyncing = false }
        var headerBytes = header[...]
        if wasResyncing {
            // Drop everything before the next Content-Length header line.
            let lowered = header.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }
            guard let range = lowered.firstRange(of: Array("content-length:".utf8)) else {
                state = .resync
                return
            }
            headerBytes = header[range.lowerBound...]
        }
        let text = String(decoding: headerBytes, as: UTF8.self)
        var length: Int?
        var problem: String?
        for line in text.split(separator: "\r\n", omittingEmptySubsequences: true) {
            guard let colon = line.firstIndex(of: ":") else {
                problem = "header line without a colon: \"\(line.prefix(60))\""
                break
            }
            let name = line[..<colon].trimmingSpaces().lowercased()
            let value = line[line.index(after: colon)...].trimmingSpaces()
            switch name {
            case "content-length":
                guard !value.isEmpty, value.utf8.count <= 18, value.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
                    let n = Int(value)
                else {
                    problem = "Content-Length must be a non-negative decimal integer, got \"\(value.prefix(40))\""
                    break
                }
                length = n
            case "content-type":
                let lowered = value.lowercased()
                if let charsetRange = lowered.firstRange(of: "charset=") {
                    let charset = lowered[charsetRange.upperBound...].prefix { $0 != ";" }.trimmingSpaces()
                    if charset != "utf-8" && charset != "utf8" {
                        problem = "unsupported charset \"\(charset)\" in Content-Type; only utf-8 is supported"
                    }
                }
            default:
                break  // Unknown headers are ignored, as LSP allows.
            }
            if problem != nil { break }
        }
        if let problem {
            emit(.malformed(problem))
            if let length, length >= 0 { state = .skipping(remaining: length) } else { state = .resync }
            return
        }
        guard let length else {
            if !wasResyncing { emit(.malformed("header block without Content-Length")) }
            state = .resync
            return
        }
        if length > maxFrameBytes {
            emit(.oversized(declared: length, limit: maxFrameBytes))
            state = .skipping(remaining: length)
        } else {
            state = .body(length: length)
        }
    }
}

/// Writes one frame: the header and the body in one buffer, so that a single write keeps it whole.
public enum FrameEncoder {
    public static func encode(_ body: [UInt8]) -> [UInt8] {
        var frame = Array("Content-Length: \(body.count)\r\n\r\n".utf8)
        frame.reserveCapacity(frame.count + body.count)
        frame.append(contentsOf: body)
        return frame
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> String {
        var s = self[...]
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
