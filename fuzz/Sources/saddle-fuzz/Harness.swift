import Foundation
import SaddleJSON
import SaddleRPC
import SaddleServer

import Synchronization

/// The server fuzz inputs talk to: the real method table with small limits, so that inputs that ask
/// for big models, data sets or many runs hit the limits (error answers) quickly. It is replaced by a
/// fresh one every ``inputsPerServer`` inputs: a daemon's run registry and store grow with every run
/// (by design for the store; see the soak's finding for finished runs), and over 100 000 inputs that
/// growth would end the fuzzer by its RSS limit rather than find anything.
private let inputsPerServer = 2_000
private let current = Mutex<(server: Server, inputs: Int)>((makeFuzzServer(), 0))

private func makeFuzzServer() -> Server {
    var configuration = ServerConfiguration()
    configuration.maxFrameBytes = 1 << 20
    configuration.limits.maxParameters = 100_000
    configuration.limits.maxDatasetBytes = 16 << 20
    configuration.limits.maxLanczosBytes = 16 << 20
    configuration.limits.memoryBudgetBytes = 64 << 20
    configuration.limits.maxActiveRuns = 1
    configuration.storePath = ":memory:"
    return Server(configuration: configuration)
}

/// The server for the next input, and the one it replaces (to close) when its turn is over.
private func nextServer() -> (Server, retired: Server?) {
    current.withLock { c in
        c.inputs += 1
        guard c.inputs > inputsPerServer else { return (c.server, nil) }
        let old = c.server
        c = (makeFuzzServer(), 1)
        return (c.server, old)
    }
}

private func frame(_ text: String) -> [UInt8] { FrameEncoder.encode(Array(text.utf8)) }

private let initializeFrame = frame(#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"capabilities":{}}}"#)

/// Feeds `bytes` to a fresh ``Connection`` over a ``MemorySink`` (after `initialize`), then checks
/// that everything the connection wrote is well-framed JSON. Traps on a violation: that is a finding.
public func fuzzConnection(_ bytes: UnsafeRawBufferPointer) {
    let (fuzzServer, retired) = nextServer()
    if let retired { retired.runs.closeStore() }
    let sink = MemorySink()
    let connection = fuzzServer.makeConnection(sink: sink) { _ in }
    initializeFrame.withUnsafeBytes { connection.receive($0) }
    connection.receive(bytes)
    // Background requests (curvature, ingestion, …) get up to 2 s to answer, so that their code is
    // fuzzed too; then end of input cancels the rest, and their -32800 answers are awaited, so that
    // threads do not pile up across inputs and every answer is checked.
    waitForAnswers(connection, milliseconds: 2_000)
    connection.endOfInput()
    waitForAnswers(connection, milliseconds: 1_000)
    checkFrames(sink.take())
    resetServer(fuzzServer)
}

private func waitForAnswers(_ connection: Connection, milliseconds: Int) {
    var waited = 0
    while connection.requestsInFlight > 0 && waited < milliseconds {
        usleep(1_000)
        waited += 1
    }
}

/// Every frame saddled writes is a complete Content-Length frame whose body is valid JSON.
private func checkFrames(_ output: [UInt8]) {
    var decoder = FrameDecoder(maxFrameBytes: Int.max / 2)
    output.withUnsafeBytes { raw in
        decoder.feed(raw) { event in
            switch event {
            case .frame(let body):
                do { _ = try JSON.parse(body, maxDepth: 1024) } catch {
                    fatalError("saddled wrote a frame that is not JSON: \(error)")
                }
            case .oversized, .malformed(_):
                fatalError("saddled wrote a malformed frame: \(event)")
            }
        }
    }
}

/// Stops runs an input started and disposes of its models and data sets, so that neither training
/// threads nor memory pile up across inputs.
private func resetServer(_ fuzzServer: Server) {
    let sink = MemorySink()
    let admin = fuzzServer.makeConnection(sink: sink) { _ in }
    initializeFrame.withUnsafeBytes { admin.receive($0) }
    frame(#"{"jsonrpc":"2.0","id":1,"method":"run/list"}"#).withUnsafeBytes { admin.receive($0) }
    var decoder = FrameDecoder(maxFrameBytes: Int.max / 2)
    var active: [String] = []
    sink.take().withUnsafeBytes { raw in
        decoder.feed(raw) { event in
            guard case .frame(let body) = event, let message = try? JSON.parse(body),
                case .array(let runs)? = message["result"]?["runs"]
            else { return }
            for run in runs where run["active"] == .bool(true) {
                if case .string(let id)? = run["run"] { active.append(id) }
            }
        }
    }
    for id in active {
        frame(#"{"jsonrpc":"2.0","id":2,"method":"run/stop","params":{"run":"\#(id)"}}"#).withUnsafeBytes { admin.receive($0) }
    }
    for entry in fuzzServer.workspace.models() {
        frame(#"{"jsonrpc":"2.0","id":3,"method":"model/dispose","params":{"model":"\#(entry.id)"}}"#).withUnsafeBytes {
            admin.receive($0)
        }
    }
    for entry in fuzzServer.workspace.datasets() {
        frame(#"{"jsonrpc":"2.0","id":4,"method":"dataset/dispose","params":{"dataset":"\#(entry.id)"}}"#).withUnsafeBytes {
            admin.receive($0)
        }
    }
    admin.endOfInput()
}

/// libFuzzer's entry point.
@_cdecl("LLVMFuzzerTestOneInput")
public func LLVMFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    fuzzConnection(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
