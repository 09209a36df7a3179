import Formats
import Foundation
import TestSupport
import XCTest

/// Image-scale geometry from the command line: the memory estimate and its refusal, the
/// factored summary, the matrix-free sketch, and the 3×64×64 config in training.
final class ImageScaleCommandTests: XCTestCase {
    var configs: String { TestPaths.configs }

    /// The peak memory is printed before the run; a geometry over the budget is refused with
    /// the estimate and the sketch as the way out.
    func testMemoryEstimateAndRefusal() throws {
        let box = try SadSandbox("memory")
        assertRefused(
            try box.run(
                ["geometry", "--config", "\(configs)/3x64x64-iddpm.json", "--networks", "64", "--out", "g"],
                env: ["SAD_MAX_MEMORY_MB": "800"]),
            mentions: ["config", "factored geometry of D = 12288", "memory budget", "needed", "sketch"])
        assertRefused(
            try box.run(
                [
                    "geometry", "--config", "\(configs)/3x32x32-iddpm.json", "--structure", "full", "--networks", "64",
                    "--out", "g",
                ],
                env: ["SAD_MAX_MEMORY_MB": "200"]),
            mentions: ["config", "D = 3072", "memory budget", "--structure factored"])
    }

    /// The default estimate of an RGB config is factored and says so; the sketch runs.
    func testFactoredSummaryAndSketch() throws {
        let box = try SadSandbox("factored")
        let r = try box.run(
            [
                "geometry", "--config", "\(configs)/3x32x32-iddpm.json", "--networks", "24", "--chunk-size", "8",
                "--out", "g",
            ])
        assertSucceeded(r)
        XCTAssertTrue(r.stderr.contains("peak memory ≈"), r.stderr)
        let summary = String(decoding: try box.bytes("g/summary.txt"), as: UTF8.self)
        XCTAssertTrue(summary.contains("exactly 3-fold"), summary)
        XCTAssertTrue(summary.contains("stable SADs ("), summary)
        XCTAssertEqual(try Npy.read(box.path("g/vals.npy")).shape, [3072])
        XCTAssertEqual(try Npy.read(box.path("g/kernel.npy")).shape, [1024, 1024])
        let s = try box.run(
            [
                "geometry", "sketch", "--config", "\(configs)/3x32x32-iddpm.json", "--networks", "16", "--chunk-size",
                "4",
                "--k", "4", "--oversampling", "8", "--passes", "2", "--out", "s",
            ])
        assertSucceeded(s)
        XCTAssertEqual(try Npy.read(box.path("s/vecs.npy")).shape, [12, 3, 32, 32])
        XCTAssertTrue(s.stdout.contains("K never formed"), s.stdout)
        assertRefused(
            try box.run(["geometry", "sketch", "--config", "\(configs)/3x32x32-iddpm.json", "--k", "0", "--out", "s"]),
            mentions: ["--k"])
    }

    /// The 3×64×64 config trains (one step) and samples.
    func testRGB64Trains() throws {
        let box = try SadSandbox("rgb64")
        let r = try box.run(
            [
                "train", "--config", "\(configs)/3x64x64-iddpm.json", "--data", "rank-one:dct:0:1", "--num-samples",
                "4",
                "--batch-size", "2", "--steps", "1", "--out", "run",
            ])
        assertSucceeded(r)
    }
}
