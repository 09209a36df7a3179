import Formats
import Foundation
import XCTest

/// Class 5: allocations are bounded by the work and checked against the memory budget
/// (`SAD_MAX_MEMORY_MB` here, 80 % of RAM by default) before they are made.
final class MemoryBoundTests: XCTestCase {
    func testEvaluateStreamsItsProjections() throws {
        let box = try SadSandbox("projections")
        // 3×64×64 samples: 100k directions would be 4.9 GB at once; streamed they fit in 300 MB.
        let d = 3 * 64 * 64
        let a = (0..<(2 * d)).map { Float(($0 * 7919) % 101) / 50 - 1 }
        try Npy.write(NDArray(shape: [2, 3, 64, 64], float32: a), to: box.path("a.npy"))
        try Npy.write(NDArray(shape: [2, 3, 64, 64], float32: a.reversed()), to: box.path("b.npy"))
        let r = try box.run(
            [
                "evaluate", "--samples", "a.npy", "--reference", "b.npy", "--num-projections", "20000", "--out",
                "r.json",
            ],
            env: ["SAD_MAX_MEMORY_MB": "300"])
        assertSucceeded(r)
    }

    func testDenseMomentBeyondTheBudgetIsRefused() throws {
        let box = try SadSandbox("moment")
        try Npy.write(
            NDArray(shape: [2, 1, 64, 64], float32: [Float](repeating: 0.25, count: 2 * 4096)), to: box.path("x.npy"))
        assertRefused(
            try box.run(["geometry", "data", "x.npy", "--out", "m"], env: ["SAD_MAX_MEMORY_MB": "100"]),
            mentions: ["x.npy", "shape", "memory budget", "needed"])
    }

    func testCompressedIDXIsNotInflatedBeyondItsHeaderOrTheBudget() throws {
        let box = try SadSandbox("idx-bomb")
        // 200k 28×28 images of zeros: 157 MB inflated from a ~150 kB gzip.
        let header: [UInt8] = [0, 0, 8, 3, 0, 3, 0x0d, 0x40, 0, 0, 0, 28, 0, 0, 0, 28]
        try AtomicFile.write(
            Gzip.compress(header + [UInt8](repeating: 0, count: 200_000 * 784)), to: box.path("bomb.idx.gz"))
        try box.write("mlp28.json", SadSandbox.mlp(hidden: 8, shape: "[1, 28, 28]"))
        let t = ["train", "--config", "mlp28.json", "--data", "idx:bomb.idx.gz", "--steps", "1", "--out", "run"]
        assertRefused(
            try box.run(t, env: ["SAD_MAX_MEMORY_MB": "200"]), mentions: ["bomb.idx.gz", "dimensions", "memory budget"])
        // A header announcing fewer images than the stream holds: refused after inflating only what it announced.
        let short: [UInt8] = [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28]
        try AtomicFile.write(
            Gzip.compress(short + [UInt8](repeating: 0, count: 50_000 * 784)), to: box.path("short.idx.gz"))
        assertRefused(
            try box.run([
                "train", "--config", "mlp28.json", "--data", "idx:short.idx.gz", "--steps", "1", "--out", "run2",
            ]),
            mentions: ["short.idx.gz", "gzip", "expected at most 1584 decompressed bytes"])
    }

    func testSampleCountsAreSizedBeforeAllocation() throws {
        let box = try SadSandbox("counts")
        assertRefused(
            try box.run([
                "train", "--config", "mlp.json", "--data", "rank-one:dct:0:1", "--num-samples", "900000000",
                "--steps", "1", "--out", "run",
            ]), mentions: ["--num-samples", "memory budget", "needed"])
        assertRefused(
            try box.run([
                "dataset", "--data", "rank-one:dct:0:1", "--shape", "1,64,64", "--count", "100000000", "--out", "d.npy",
            ]),
            mentions: ["--count", "memory budget"])
    }

    /// A small network on huge images: its parameters fit, one forward pass does not.
    func testActivationsOfOnePassAreSizedFirst() throws {
        let box = try SadSandbox("activations")
        try box.write(
            "huge.json",
            """
            {"shape": [1, 4096, 4096], "learning_rate": 1e-3, "grad_clip": 1.0,
             "diffuser": {"T": 100, "linear": true,
                          "model": {"base_channels": 32, "num_res_attn_blocks": 1, "channel_mults": [1, 1],
                                    "is_attn": [false, false, false], "num_heads": 4, "dropout": 0.0,
                                    "use_scale_shift_norm": false}}}
            """)
        assertRefused(
            try box.run(["init-stats", "--config", "huge.json", "--networks", "2"]),
            mentions: ["--config", "activations", "memory budget", "needed"])
        assertRefused(
            try box.run(
                [
                    "train", "--config", "mlp.json", "--data", "rank-one:dct:0:1",
                    "--num-samples", "100000", "--batch-size", "100000", "--steps", "1", "--out", "t",
                ],
                env: ["SAD_MAX_MEMORY_MB": "64"]),
            mentions: ["--batch-size", "activations", "memory budget"])
    }

    /// More threads never need more memory than the budget: the chunks in flight shrink to fit,
    /// and the result does not change.
    func testGeometryInFlightChunksFitTheBudget() throws {
        let box = try SadSandbox("inflight")
        try box.write("mlp16.json", SadSandbox.mlp(hidden: 16, shape: "[1, 16, 16]"))
        let g = [
            "geometry", "--config", "mlp16.json", "--estimator", "importance", "--networks", "64", "--chunk-size", "4",
        ]
        assertSucceeded(try box.run(g + ["--threads", "1", "--out", "one"]))
        // 12 MiB: the finalisation's ≈ 136·D² = 8.5 MiB plus room for 6 of the 32 chunk sums (0.5 MiB
        // each) that 16 threads would otherwise keep in flight.
        assertSucceeded(try box.run(g + ["--threads", "16", "--out", "many"], env: ["SAD_MAX_MEMORY_MB": "12"]))
        for name in ["vals.npy", "vecs.npy"] {
            XCTAssertEqual(try box.bytes("one/\(name)"), try box.bytes("many/\(name)"))
        }
        assertRefused(
            try box.run(g + ["--out", "none"], env: ["SAD_MAX_MEMORY_MB": "1"]),
            mentions: ["--config", "memory budget"])
    }
}
