import ArgumentParser
import Foundation
import SaddleRPC
import SaddleServer
import SaddleThreads

/// `saddled`: the Saddle daemon. Speaks the Language Server Protocol's base protocol
/// (Content-Length framed JSON-RPC 2.0) on stdin/stdout, or to many clients on a Unix domain
/// socket with `--listen`; logs go to stderr.
struct Saddled: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "saddled",
        abstract: "Saddle daemon: tells why training has stalled. Speaks JSON-RPC (LSP base protocol) on stdio or a Unix socket.",
        discussion: """
            stdout carries protocol frames only; logs go to stderr. See protocol/README.md for the protocol and \
            protocol/transport.md for the socket. Every limit below answers a request that would pass it with \
            error -31002 naming the limit, its value and its flag; the daemon keeps serving.
            """,
        version: saddleVersion)

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Serve any number of clients on a Unix domain socket at this path (mode 0600, this user only) instead of stdio.",
            discussion: "e.g. ~/.local/state/saddle/saddled.sock. `exit` ends one client; SIGTERM/SIGINT stop the daemon."))
    var listen: String?

    @Option(name: .long, help: "Largest frame body accepted, in bytes; larger frames get an error and are skipped.")
    var maxFrameSize: Int = 64 << 20

    @Option(name: .long, help: "Deepest JSON nesting accepted in a message.")
    var maxJsonDepth: Int = 128

    @Option(name: .long, help: "Most parameters in one model.")
    var maxParameters: Int = Limits().maxParameters

    @Option(name: .long, help: "Most bytes of all data sets held together.")
    var maxDatasetBytes: Int = Limits().maxDatasetBytes

    @Option(name: .long, help: "Most bytes one Lanczos run may keep for its basis.")
    var maxLanczosBytes: Int = Limits().maxLanczosBytes

    @Option(name: .long, help: "Most runs training at once.")
    var maxRuns: Int = Limits().maxActiveRuns

    @Option(name: .long, help: "Total bytes of models' parameters (8 per parameter) and data sets held together.")
    var memoryBudget: Int = Limits().memoryBudgetBytes

    @Option(name: .long, help: "Most socket clients at once (--listen); one more gets error -31002 and is closed.")
    var maxClients: Int = 16

    @Option(name: .long, help: "Most unread output bytes one socket client may leave before it is dropped (--listen).")
    var maxClientBacklog: Int = 64 << 20

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The run store (SQLite): runs and every step, kept across restarts; \":memory:\" keeps nothing.",
            discussion: "Default: $XDG_STATE_HOME/saddle/runs.sqlite, else ~/.local/state/saddle/runs.sqlite."))
    var store: String?

    func validate() throws {
        guard maxFrameSize > 0 else { throw ValidationError("--max-frame-size must be a positive number of bytes") }
        guard maxJsonDepth >= 4 else { throw ValidationError("--max-json-depth must be at least 4") }
        for (flag, value) in [
            ("--max-parameters", maxParameters), ("--max-dataset-bytes", maxDatasetBytes),
            ("--max-lanczos-bytes", maxLanczosBytes), ("--max-runs", maxRuns),
            ("--memory-budget", memoryBudget), ("--max-clients", maxClients),
            ("--max-client-backlog", maxClientBacklog),
        ] {
            guard value > 0 else { throw ValidationError("\(flag) must be a positive number, got \(value)") }
        }
        if let listen, listen.isEmpty { throw ValidationError("--listen needs a socket path") }
    }

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        // Requests and runs each get a thread; glibc would give busy threads arenas of their own (up to 8 per
        // core) whose freed memory it keeps. A few shared arenas keep a long-lived daemon's RSS flat.
        limitMallocArenas(2)
        var configuration = ServerConfiguration()
        configuration.maxFrameBytes = maxFrameSize
        configuration.maxJSONDepth = maxJsonDepth
        configuration.limits.maxParameters = maxParameters
        configuration.limits.maxDatasetBytes = maxDatasetBytes
        configuration.limits.maxLanczosBytes = maxLanczosBytes
        configuration.limits.maxActiveRuns = maxRuns
        configuration.limits.memoryBudgetBytes = memoryBudget
        configuration.storePath = store ?? Server.defaultRunStorePath
        installStopSignalHandlers()
        let server = Server(configuration: configuration)
        do {
            try server.openRunStore()
        } catch {
            // Never start with an empty store in place of one that cannot be read: say why and stop.
            FileHandle.standardError.write(Data("saddled: cannot open the run store: \(error)\n".utf8))
            terminate(3)
        }
        if let listen {
            serveSocket(server, path: NSString(string: listen).expandingTildeInPath)
        }
        let connection = server.makeConnection(sink: FileDescriptorSink(fd: 1)) { code in
            server.runs.closeStore()
            terminate(code)
        }
        // SIGTERM or SIGINT (an editor closing, Ctrl-C) commits what the store has queued before exiting.
        NamedThread.start(name: "saddle.signals") {
            let signal = waitForStopSignal()
            logToStderr("stopping on signal \(signal): closing the run store")
            server.runs.closeStore()
            terminate(0)
        }
        StdioTransport.serve(connection)
    }

    /// Serves the socket until SIGTERM or SIGINT, then closes the store and exits 0.
    private func serveSocket(_ server: Server, path: String) -> Never {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try? FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let listener = SocketListener(
            configuration: .init(path: path, maxClients: maxClients, maxBacklogBytes: maxClientBacklog),
            overLimit: { limit in
                .limitExceeded("client count", value: limit, requested: limit + 1, flag: "--max-clients")
            },
            makeConnection: { sink, onExit in server.makeConnection(sink: sink, onExit: onExit) })
        do {
            try listener.start()
        } catch {
            FileHandle.standardError.write(Data("saddled: cannot listen: \(error)\n".utf8))
            server.runs.closeStore()
            terminate(4)
        }
        logToStderr("listening on \(path)")
        let signal = waitForStopSignal()
        logToStderr("stopping on signal \(signal): closing the run store")
        listener.stop()
        server.runs.closeStore()
        terminate(0)
    }
}

/// Ends the process once the store is closed, without running atexit handlers: OpenBLAS's library
/// destructor frees its buffers while a thread may still be inside a BLAS call (a diagnosis finishing after a
/// run ended), which crashed `exit` with SIGSEGV. Frames are written with write(2), so nothing is buffered.
private func terminate(_ code: Int32) -> Never {
    _exit(code)
}

/// The pipe SIGTERM and SIGINT are reported through: (read end, write end).
nonisolated(unsafe) private var stopSignalPipe: (read: Int32, write: Int32) = (-1, -1)

/// Handles SIGTERM and SIGINT by writing the signal's number to a pipe that ``waitForStopSignal()`` reads.
/// A handler rather than a blocked mask and `sigwait`: the kernel may deliver the signal to any thread, and
/// threads started by Foundation do not all keep the mask, so a blocked signal would still kill the process.
private func installStopSignalHandlers() {
    var fds: [Int32] = [-1, -1]
    guard pipe(&fds) == 0 else { return }
    stopSignalPipe = (fds[0], fds[1])
    let handler: @convention(c) (Int32) -> Void = { received in
        var byte = UInt8(truncatingIfNeeded: received)
        _ = write(stopSignalPipe.write, &byte, 1)  // async-signal-safe
    }
    signal(SIGTERM, handler)
    signal(SIGINT, handler)
}

/// Blocks until SIGTERM or SIGINT arrives; returns its number.
private func waitForStopSignal() -> Int32 {
    var byte: UInt8 = 0
    while read(stopSignalPipe.read, &byte, 1) != 1 {}
    return Int32(byte)
}

/// glibc's `mallopt(M_ARENA_MAX, n)`, looked up at run time: `<malloc.h>` is not part of Swift's Glibc module.
private func limitMallocArenas(_ arenas: Int32) {
    typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
    let mArenaMax: Int32 = -8  // M_ARENA_MAX in <malloc.h>
    guard let symbol = dlsym(nil, "mallopt") else { return }
    _ = unsafeBitCast(symbol, to: Mallopt.self)(mArenaMax, arenas)
}

Saddled.main()
