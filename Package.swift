// swift-tools-version:6.0
import PackageDescription

/// Saddle: a daemon that tells why training has stalled. Layers, bottom up, as in DESIGN.md:
/// C modules, SaddleThreads → SaddleJSON → SaddleRPC; SaddleMath → SaddleModels → SaddleCurvature / SaddleTraining
/// → SaddleDiagnosis → SaddleServer → saddled. The terminal client `saddle` lives in clients/terminal.
let package = Package(
    name: "Saddle",
    products: [
        .executable(name: "saddled", targets: ["saddled"]),
        .executable(name: "saddle", targets: ["saddle"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
    ],
    targets: [
        .systemLibrary(name: "CJansson", pkgConfig: "jansson", providers: [.apt(["libjansson-dev"])]),
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CLAPACKE", pkgConfig: "lapacke", providers: [.apt(["liblapacke-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),

        // Named threads, below every module that starts one.
        .target(name: "SaddleThreads"),
        .target(name: "SaddleJSON", dependencies: ["CJansson"]),
        .target(name: "SaddleRPC", dependencies: ["SaddleJSON", "SaddleThreads"]),
        .target(name: "SaddleMath", dependencies: ["CBLAS", "CLAPACKE"]),
        .target(name: "SaddleModels", dependencies: ["SaddleMath", "SaddleJSON", "CZlib"]),
        .target(name: "SaddleCurvature", dependencies: ["SaddleModels", "SaddleMath"]),
        .target(name: "SaddleTraining", dependencies: ["SaddleModels", "SaddleMath", "SaddleJSON", "SaddleThreads", "CSQLite"]),
        .target(name: "SaddleDiagnosis", dependencies: ["SaddleCurvature", "SaddleModels", "SaddleMath"]),
        .target(
            name: "SaddleServer",
            dependencies: [
                "SaddleRPC", "SaddleJSON", "SaddleMath", "SaddleModels", "SaddleCurvature",
                "SaddleTraining", "SaddleDiagnosis", "SaddleThreads",
            ]),
        .executableTarget(
            name: "saddled",
            dependencies: [
                "SaddleServer", "SaddleRPC", "SaddleThreads",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(
            name: "saddle",
            dependencies: [
                "SaddleRPC", "SaddleJSON",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "clients/terminal"),

        // Shared by the test targets only: the ground-truth scenarios, located and loaded once.
        .target(
            name: "SaddleTestSupport", dependencies: ["SaddleModels", "SaddleJSON", "SaddleMath"],
            path: "Tests/SaddleTestSupport"),

        // benchmarks/models.py drives this; it is built with the package so it cannot rot.
        .executableTarget(name: "saddle-bench", dependencies: ["SaddleModels", "SaddleMath"], path: "benchmarks/swift"),

        // libFuzzer over the framing + JSON + dispatch path; scripts/fuzz builds it with -DFUZZING and the sanitizers.
        .executableTarget(
            name: "saddle-fuzz", dependencies: ["SaddleServer", "SaddleRPC", "SaddleJSON"], path: "fuzz/Sources/saddle-fuzz"),

        .testTarget(name: "SaddleThreadsTests", dependencies: ["SaddleThreads"]),
        .testTarget(name: "SaddleJSONTests", dependencies: ["SaddleJSON"]),
        .testTarget(name: "SaddleRPCTests", dependencies: ["SaddleRPC", "SaddleJSON"]),
        .testTarget(name: "SaddleMathTests", dependencies: ["SaddleMath"]),
        .testTarget(name: "SaddleModelsTests", dependencies: ["SaddleModels", "SaddleMath", "SaddleJSON", "SaddleTestSupport"]),
        .testTarget(
            name: "SaddleCurvatureTests", dependencies: ["SaddleCurvature", "SaddleModels", "SaddleMath", "SaddleTestSupport"]),
        .testTarget(
            name: "SaddleTrainingTests", dependencies: ["SaddleTraining", "SaddleModels", "SaddleMath", "SaddleJSON", "CSQLite"]),
        .testTarget(
            name: "SaddleDiagnosisTests",
            dependencies: ["SaddleDiagnosis", "SaddleCurvature", "SaddleModels", "SaddleTestSupport"]),
        .testTarget(
            name: "SaddleServerTests",
            dependencies: ["SaddleServer", "SaddleRPC", "SaddleJSON", "SaddleTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
