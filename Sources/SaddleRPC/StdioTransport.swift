#if canImport(Glibc)
    import Glibc
#endif

/// Reads a connection's input from a file descriptor until end of input: stdin for the stdio
/// transport, an accepted client socket for ``SocketListener``. One reader thread per connection.
public enum FileDescriptorTransport {
    /// Blocks the calling thread reading `fd` and feeding `connection`; calls
    /// ``Connection/endOfInput()`` when the peer closes its end (or the read side is shut down).
    public static func serve(_ connection: Connection, inputFD fd: Int32 = 0, chunkSize: Int = 1 << 16) {
        var buffer = [UInt8](repeating: 0, count: chunkSize)
        while true {
            let n = buffer.withUnsafeMutableBytes { raw in read(fd, raw.baseAddress, raw.count) }
            if n < 0 {
                if errno == EINTR { continue }
                break
            }
            if n == 0 { break }
            buffer.withUnsafeBytes { raw in connection.receive(UnsafeRawBufferPointer(rebasing: raw[0..<n])) }
        }
        connection.endOfInput()
    }
}

/// The stdio transport: ``FileDescriptorTransport`` over stdin (fd 0), output through a
/// ``FileDescriptorSink`` on stdout (fd 1).
public typealias StdioTransport = FileDescriptorTransport
