import CZlib
import Foundation

/// Reads whole files for the loaders, enforcing a byte limit before anything large is allocated.
///
/// Gzip files (detected by their magic bytes 1f 8b) are inflated through zlib, and the limit then
/// applies to the decompressed size, so a small compressed file cannot expand without bound.
enum FileBytes {
    /// The bytes of `path`, inflated if gzip-compressed. Throws `fileNotFound`, `tooLarge`
    /// (naming the limit), or `truncated` for a gzip stream that ends early.
    static func read(_ path: String, maxBytes: Int, what: String = "file") throws(DatasetError) -> [UInt8] {
        guard maxBytes >= 0 else {
            throw DatasetError(.invalidParameters, file: path, "maxBytes must be non-negative, got \(maxBytes)")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw DatasetError(
                .fileNotFound, file: path,
                "\(what) \(path) does not exist; check the path (relative paths resolve against the daemon's working directory \(FileManager.default.currentDirectoryPath))"
            )
        }
        guard !isDirectory.boolValue else {
            throw DatasetError(.fileNotFound, file: path, "\(what) \(path) is a directory; give the path of a file")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw DatasetError(.fileNotFound, file: path, "\(what) \(path) cannot be opened for reading; check its permissions")
        }
        defer { try? handle.close() }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
        let head = [UInt8](handle.readData(ofLength: 2))
        if head == [0x1F, 0x8B] {
            return try inflate(path, maxBytes: maxBytes, what: what)
        }
        if size > maxBytes {
            throw tooLarge(path, what: what, size: "\(size) bytes", maxBytes: maxBytes)
        }
        handle.seek(toFileOffset: 0)
        // Read at most one byte past the size seen, to notice a file that grew since stat.
        let data = handle.readData(ofLength: size + 1)
        if data.count > maxBytes {
            throw tooLarge(path, what: what, size: "more than \(maxBytes) bytes", maxBytes: maxBytes)
        }
        return [UInt8](data)
    }

    private static func tooLarge(_ path: String, what: String, size: String, maxBytes: Int) -> DatasetError {
        DatasetError(
            .tooLarge, file: path,
            "\(what) \(path) is \(size), over the limit maxBytes = \(maxBytes); raise maxBytes or load a smaller file")
    }

    private static func inflate(_ path: String, maxBytes: Int, what: String) throws(DatasetError) -> [UInt8] {
        guard let gz = gzopen(path, "rb") else {
            throw DatasetError(.fileNotFound, file: path, "\(what) \(path) cannot be opened by zlib; check its permissions")
        }
        defer { gzclose(gz) }
        var out = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { gzread(gz, $0.baseAddress, UInt32($0.count)) }
            if n < 0 {
                var code: Int32 = 0
                let message = gzerror(gz, &code).map { String(cString: $0) } ?? "unknown zlib error"
                throw DatasetError(
                    .badFormat, file: path,
                    "\(what) \(path) is not a valid gzip stream (zlib: \(message)); recompress it with gzip")
            }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<Int(n)])
            if out.count > maxBytes {
                throw tooLarge(path, what: what, size: "more than \(maxBytes) bytes once decompressed", maxBytes: maxBytes)
            }
        }
        var code: Int32 = 0
        let message = gzerror(gz, &code).map { String(cString: $0) } ?? ""
        if code != Z_OK && code != Z_STREAM_END {
            throw DatasetError(
                .truncated, file: path,
                "\(what) \(path) is a truncated or corrupt gzip stream (zlib: \(message)) after \(out.count) decompressed bytes; download or compress it again"
            )
        }
        return out
    }
}

/// Little-endian and big-endian scalar reads from a byte array, bounds checked by the caller.
extension Array where Element == UInt8 {
    func loadLE<I: FixedWidthInteger>(_ type: I.Type, at offset: Int) -> I {
        var value: I = 0
        for k in 0..<MemoryLayout<I>.size { value |= I(truncatingIfNeeded: self[offset + k]) << (8 * k) }
        return value
    }

    func loadBE<I: FixedWidthInteger>(_ type: I.Type, at offset: Int) -> I {
        var value: I = 0
        for k in 0..<MemoryLayout<I>.size { value = (value << 8) | I(truncatingIfNeeded: self[offset + k]) }
        return value
    }
}
