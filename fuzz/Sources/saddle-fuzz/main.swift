// saddle-fuzz: libFuzzer over saddled's framing + JSON + dispatch path (Harness.swift).
//
// Built by scripts/fuzz as
//   swift build -c release -Xswiftc -DFUZZING -Xswiftc -sanitize=fuzzer,address --product saddle-fuzz
// An executable's own `main` replaces libFuzzer's, so this top-level code calls the driver itself.
// Without FUZZING (a plain `swift build`) it feeds each file named on the command line once: a
// reproducer for a crash, or a quick check of the corpus.
import Foundation

#if FUZZING
    @_silgen_name("LLVMFuzzerRunDriver")
    func LLVMFuzzerRunDriver(
        _ argc: UnsafeMutablePointer<Int32>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
        _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
    ) -> Int32

    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput))
#else
    var fed = 0
    for path in CommandLine.arguments.dropFirst() {
        guard let data = FileManager.default.contents(atPath: path) else {
            FileHandle.standardError.write(Data("saddle-fuzz: cannot read \(path)\n".utf8))
            exit(2)
        }
        data.withUnsafeBytes { fuzzConnection($0) }
        fed += 1
    }
    print("saddle-fuzz: fed \(fed) inputs without a fault (built without FUZZING: no fuzzing)")
#endif
