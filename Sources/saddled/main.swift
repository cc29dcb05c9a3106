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

    @Option(name: .long, help: ArgumentHelp(
        "The run store (SQLite): runs and every step, kept across restarts; \":memory:\" keeps nothing.",
        discussion: "Default: $XDG_STATE_HOME/saddle/runs.sqlite, else ~/.local/state/saddle/runs.sqlite."))
    var store: String?

    func validate() throws {
        guard maxFrameSize > 0 else { throw ValidationError("--max-frame-size must be a positive number of bytes") }
        guard maxJsonDepth >= 4 else { throw ValidationError("--max-json-depth must be at least 4") }
    }

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        var configuration = ServerConfiguration()
        configuration.maxFrameBytes = maxFrameSize
        configuration.maxJSONDepth = maxJsonDepth
        configuration.storePath = store ?? Server.defaultRunStorePath
        let server = Server(configuration: configuration)
        do {
            try server.openRunStore()
        } catch {
            // Never start with an empty store in place of one that cannot be read: say why and stop.
            FileHandle.standardError.write(Data("saddled: cannot open the run store: \(error)\n".utf8))
            Foundation.exit(3)
        }
        let connection = server.makeConnection(sink: FileDescriptorSink(fd: 1)) { code in
            server.runs.closeStore()
            Foundation.exit(code)
        }
        StdioTransport.serve(connection)
    }
}

Saddled.main()
