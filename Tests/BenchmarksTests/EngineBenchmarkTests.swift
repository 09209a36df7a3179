import XCTest

@testable import Benchmarks

/// `sad bench`'s engine figures at tiny sizes: every figure measured (finite, positive) and
/// reported against this machine's own peaks, never against a stored reference.
final class EngineBenchmarkTests: XCTestCase {
    func testBandwidthIsMeasuredOnOneAndTwoThreads() {
        for threads in [1, 2] {
            let r = MemoryBandwidth.measure(threads: threads, repetitions: 1, count: 1 << 16)
            XCTAssertTrue(r.copy.isFinite && r.copy > 0, "copy \(r.copy) GB/s on \(threads) threads")
            XCTAssertTrue(r.triad.isFinite && r.triad > 0, "triad \(r.triad) GB/s on \(threads) threads")
        }
    }

    func testEveryLineIsAbsoluteOrAgainstThisMachine() throws {
        var bench = EngineBenchmark()
        bench.convBatch = 2
        bench.eigenSizes = [8]
        bench.repetitions = 1
        bench.bandwidthCount = 1 << 16
        var lines: [String] = []
        let r = try bench.run { lines.append($0) }
        for value in [
            r.sgemmGFLOPsOneCore, r.conv2dForwardGFLOPs, r.bandwidthOneCore.copy, r.bandwidthAllThreads.triad,
            r.groupNormSiLUGBs,
        ] {
            XCTAssertTrue(value.isFinite && value > 0, "\(value)")
        }
        let bandwidth = lines.filter { $0.hasPrefix("memory bandwidth (STREAM copy / triad, 0.25 MiB arrays)") }
        XCTAssertEqual(bandwidth.count, 1, "\(lines)")
        let norm = lines.filter { $0.hasPrefix("SiLU(GroupNorm) 32 groups, (2, 32, 16, 16), inference") }
        XCTAssertEqual(norm.count, 1, "\(lines)")
        XCTAssertTrue(norm.first?.contains("% of the copy bandwidth") == true, "\(norm)")
        for line in lines {
            XCTAssertFalse(line.contains("PyTorch") || line.contains("faster") || line.contains("reference ("), line)
        }
    }
}
