import ArgumentParser
import Foundation
import SaddleRPC
import SaddleServer

/// `saddled`: the Saddle daemon. Speaks the Language Server Protocol's base protocol
/// (Content-Length framed JSON-RPC 2.0) on stdin/stdout; logs go to stderr.
struct Saddled: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "saddled",
        abstract: "Saddle daemon: tells why training has stalled. Speaks JSON-RPC (LSP base protocol) on stdio.",
        discussion: "stdout carries protocol frames only; logs go to stderr. See protocol/README.md for the protocol.",
        version: saddleVersion)

    @Option(name: .long, help: "Largest frame body accepted, in bytes; larger frames get an error and are skipped.")
    var maxFrameSize: Int = 64 << 20

    @Option(name: .long, help: "Deepest JSON nesting accepted in a message.")
    var maxJsonDepth: Int = 128

    func validate() throws {
        guard maxFrameSize > 0 else { throw ValidationError("--max-frame-size must be a positive number of bytes") }
        guard maxJsonDepth >= 4 else { throw ValidationError("--max-json-depth must be at least 4") }
    }

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        var configuration = ServerConfiguration()
        configuration.maxFrameBytes = maxFrameSize
        configuration.maxJSONDepth = maxJsonDepth
        let server = Server(configuration: configuration)
        let connection = server.makeConnection(sink: FileDescriptorSink(fd: 1)) { code in
            Foundation.exit(code)
        }
        StdioTransport.serve(connection)
    }
}

Saddled.main()
