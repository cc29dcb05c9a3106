import ArgumentParser
import Foundation
import SaddleRPC

/// `saddle`: the terminal client of saddled. It presents; the daemon computes.
@main
struct Saddle: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "saddle",
        abstract: "Terminal client of the Saddle daemon: why has training stalled?",
        version: saddleVersion,
        subcommands: [Run.self, Report.self, Diagnose.self, Demo.self, Status.self])
}

/// `saddle status`: starts a daemon and prints its status (a smoke test of the set-up).
struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start saddled (or attach to one with --socket) and print its status.")
    @Option(
        name: .long,
        help:
            "Attach to the saddled serving this Unix socket (saddled --listen) instead of starting one; default: $SADDLE_SOCKET.")
    var socket: String?

    func run() throws {
        let client = try DaemonClient(socket: socket) { _, _ in }
        try client.initialize()
        let status = try client.call("daemon/status")
        print(try status.serializedString())
        client.close()
    }
}
