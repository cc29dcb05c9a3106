import Foundation
import XCTest
@testable import SaddleJSON
@testable import SaddleRPC
@testable import SaddleServer

/// protocol/ is the reference for client authors: it must describe exactly what the daemon serves.
final class ProtocolReferenceTests: XCTestCase {
    private let protocolFolder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("protocol")

    /// saddle.schema.json merged with protocol/schema/*.schema.json, as Tests/EndToEnd/schema.py merges them.
    private func schema() throws -> JSON {
        func load(_ url: URL) throws -> [String: JSON] {
            try JSON.parse(Array(try Data(contentsOf: url)), maxDepth: 64).objectValue ?? [:]
        }
        var document = try load(protocolFolder.appendingPathComponent("saddle.schema.json"))
        let folder = protocolFolder.appendingPathComponent("schema")
        let families = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
            .filter { $0.hasSuffix(".schema.json") }.sorted()
        for family in families {
            let part = try load(folder.appendingPathComponent(family))
            for section in ["$defs", "methods", "notifications"] {
                var merged = document[section]?.objectValue ?? [:]
                for (name, value) in part[section]?.objectValue ?? [:] {
                    XCTAssertNil(merged[name], "\(family) redefines \(section)/\(name)")
                    merged[name] = value
                }
                document[section] = .object(merged)
            }
        }
        return .object(document)
    }

    private func markdown() throws -> String {
        let files = try FileManager.default.contentsOfDirectory(atPath: protocolFolder.path).filter { $0.hasSuffix(".md") }
        return try files.map { try String(contentsOf: protocolFolder.appendingPathComponent($0), encoding: .utf8) }
            .joined(separator: "\n")
    }

    private var servedMethods: [String] {
        let connection = Server().makeConnection(sink: MemorySink()) { _ in }
        return connection.servedMethods
    }

    func testEveryServedMethodHasSchemaAndDocumentation() throws {
        let schema = try schema()
        let docs = try markdown()
        for method in servedMethods {
            XCTAssertNotNil(schema["methods"]?[method]?["params"], "schema lacks methods[\"\(method)\"].params")
            XCTAssertNotNil(schema["methods"]?[method]?["result"], "schema lacks methods[\"\(method)\"].result")
            XCTAssertTrue(docs.contains("### `\(method)`"), "protocol/*.md lacks a section ### `\(method)`")
        }
    }

    func testSchemaDescribesNoMethodTheDaemonDoesNotServe() throws {
        let described = try schema()["methods"]?.objectValue?.keys.sorted() ?? []
        XCTAssertEqual(described, servedMethods.sorted())
    }

    func testEveryNotificationIsDescribed() throws {
        let schema = try schema()
        let notifications =
            Connection.builtInNotifications + Connection.builtInServerNotifications
            + Server.serverNotifications
        for name in notifications {
            XCTAssertNotNil(schema["notifications"]?[name]?["params"], "schema lacks notifications[\"\(name)\"]")
        }
        let described = Set(schema["notifications"]?.objectValue?.keys.map { $0 } ?? [])
        XCTAssertEqual(described, Set(notifications), "schema describes exactly the notifications in use")
    }

    func testEverySaddleErrorCodeIsDocumented() throws {
        let docs = try markdown()
        for code in [
            ErrorCode.notFound, .limitExceeded, .invalidState, .fileError, .numericalError, .storeError,
            .parseError, .invalidRequest, .methodNotFound, .invalidParams, .internalError,
            .serverNotInitialized, .requestCancelled,
        ] {
            XCTAssertTrue(docs.contains("| \(code.rawValue) |"), "protocol/errors.md lacks code \(code.rawValue)")
        }
    }
}
