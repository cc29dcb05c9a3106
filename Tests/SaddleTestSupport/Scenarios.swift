import Foundation

/// The ground-truth scenarios of `shared/scenarios`, which CI lays beside the clone.
public enum Scenarios {
    /// `$SADDLE_SCENARIOS`, else `<repo>/../shared/scenarios`. Tests fail (never skip) without it.
    public static var root: URL {
        if let env = ProcessInfo.processInfo.environment["SADDLE_SCENARIOS"] { return URL(fileURLWithPath: env) }
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }  // Tests/SaddleTestSupport/File.swift → repo root
        return url.deletingLastPathComponent().appendingPathComponent("shared/scenarios")
    }
}
