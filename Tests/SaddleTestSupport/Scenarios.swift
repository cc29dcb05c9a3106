import Foundation

/// The ground-truth scenarios of `shared/scenarios`, which CI lays beside the clone.
///
/// Every scenario test goes through this one locator. A missing folder is an error, never a skip:
/// a test that silently skips its ground truth cannot fail, so it would hide exactly the regressions
/// the scenarios exist to catch.
public enum Scenarios {
    /// `$SADDLE_SCENARIOS`, else `<repo>/../shared/scenarios`. Tests fail (never skip) without it.
    public static var root: URL {
        if let env = ProcessInfo.processInfo.environment["SADDLE_SCENARIOS"] { return URL(fileURLWithPath: env) }
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }  // Tests/SaddleTestSupport/File.swift → repo root
        return url.deletingLastPathComponent().appendingPathComponent("shared/scenarios").standardized
    }

    /// The scenario folder names under ``root``, sorted (files such as README.md are left out).
    ///
    /// - Throws: ``ScenarioError`` when ``root`` is missing, is not a folder, or holds no scenario folder.
    public static var names: [String] {
        get throws {
            let root = root
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isFolder), isFolder.boolValue else {
                throw ScenarioError(
                    "ground-truth scenarios folder not found at \(root.path): CI lays shared/ beside the clone "
                        + "(<repo>/../shared/scenarios); set SADDLE_SCENARIOS to use another folder")
            }
            let names = try FileManager.default.contentsOfDirectory(atPath: root.path).filter { name in
                var isScenario: ObjCBool = false
                let path = root.appendingPathComponent(name).path
                return !name.hasPrefix(".") && FileManager.default.fileExists(atPath: path, isDirectory: &isScenario)
                    && isScenario.boolValue
            }.sorted()
            guard !names.isEmpty else { throw ScenarioError("no scenario folders in \(root.path)") }
            return names
        }
    }
}

/// A scenario that cannot be found or read; the message names the folder or file and the fix.
public struct ScenarioError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
