import Foundation
import ReaderHarness

// libFuzzer harness, built only by scripts/fuzz (SAD_FUZZ=1; compiled by SwiftPM with
// -sanitize=fuzzer -parse-as-library and linked by the script against libFuzzer's own main).
// SAD_FUZZ_READER picks the reader.

let fuzzReader: String = {
    guard let name = ProcessInfo.processInfo.environment["SAD_FUZZ_READER"], ReaderHarness.readers.contains(name) else {
        fatalError("set SAD_FUZZ_READER to one of: \(ReaderHarness.readers.joined(separator: ", "))")
    }
    return name
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    ReaderHarness.run(fuzzReader, size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

/// With SAD_FUZZ_WRITE_SEEDS=DIR, writes the reader's valid seed inputs (made by the tool's own
/// writers) into DIR and exits; scripts/fuzz passes DIR to libFuzzer as a second corpus.
@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>?, _ argv: UnsafeMutableRawPointer?) -> CInt {
    guard let dir = ProcessInfo.processInfo.environment["SAD_FUZZ_WRITE_SEEDS"] else { return 0 }
    do {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for seed in try ReaderHarness.seeds(fuzzReader) {
            try Data(seed.bytes).write(to: URL(fileURLWithPath: dir + "/" + seed.name))
        }
    } catch {
        fatalError("writing seeds for \(fuzzReader): \(error)")
    }
    exit(0)
}
