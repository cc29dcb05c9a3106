import Foundation
import SaddleJSON
import SaddleRPC

/// Settings of the server, from saddled's flags.
public struct ServerConfiguration: Sendable {
    public var maxFrameBytes: Int = 64 << 20
    public var maxJSONDepth: Int = JSON.defaultMaxDepth
    public var limits = Limits()
    /// Where the run store lives: a file path, or ":memory:" / nil for an in-memory store (nil is the
    /// default here so that tests never touch the disk; saddled passes `--store`, whose default is
    /// `Server.defaultRunStorePath`).
    public var storePath: String?
    public init() {}
}

/// The daemon's method handlers over the state it owns. The server never sees a byte: the
/// connection in SaddleRPC hands it typed parameters and sends what it returns.
public final class Server: Sendable {
    public let configuration: ServerConfiguration
    public let workspace: Workspace
    /// Runs the daemon trains and the run store (opened by `openRunStore()` or on first use).
    public let runs: RunRegistry
    let started = Date()

    public init(configuration: ServerConfiguration = ServerConfiguration()) {
        self.configuration = configuration
        self.workspace = Workspace(limits: configuration.limits)
        self.runs = RunRegistry(storePath: configuration.storePath)
    }

    /// Notifications the server sends (beyond `$/progress` and `window/logMessage`).
    public static let serverNotifications: [String] = ["run/step", "run/finished", "run/diagnosis"]

    /// The dispatch table of every method the daemon serves.
    public func methodTable() -> MethodTable {
        var table = MethodTable()
        registerDaemonMethods(&table)
        registerModelMethods(&table)
        registerDatasetMethods(&table)
        registerCurvatureMethods(&table)
        registerRunMethods(&table)
        registerDiagnosisMethods(&table)
        return table
    }

    /// A connection over `sink` serving this server's methods.
    public func makeConnection(sink: any ByteSink, onExit: @escaping @Sendable (Int32) -> Void) -> Connection {
        let connectionConfiguration = Connection.Configuration(
            serverName: "saddled", serverVersion: saddleVersion,
            maxFrameBytes: configuration.maxFrameBytes, maxJSONDepth: configuration.maxJSONDepth,
            serverNotifications: Self.serverNotifications)
        return Connection(configuration: connectionConfiguration, methods: methodTable(), sink: sink, onExit: onExit)
    }
}
