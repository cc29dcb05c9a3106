import Foundation
#if canImport(Glibc)
    import Glibc
#endif

/// Connects to a Unix domain stream socket, for attaching to `saddled --listen PATH`.
enum UnixSocket {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// A connected socket as one FileHandle (read and write on the same descriptor; closing it closes the
    /// connection). Throws ``Failure`` naming the path and errno text when the path is too long for
    /// `sun_path` or nothing listens there.
    static func connect(_ path: String) throws -> FileHandle {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity else {
            throw Failure(description: "socket path \(path) is empty or longer than \(capacity - 1) bytes")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket(): \(String(cString: strerror(errno)))") }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(fd)
            throw Failure(description: "cannot attach to saddled at \(path): \(reason)")
        }
        return FileHandle(fileDescriptor: fd, closeOnDealloc: true)
    }
}
