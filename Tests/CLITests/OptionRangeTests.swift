import Formats
import Foundation
import XCTest

/// Class 4: every option, environment variable and config number is range-checked before any
/// arithmetic; errors name the option or field, the accepted range and the value found.
final class OptionRangeTests: XCTestCase {
    let train = [
        "train", "--config", "mlp.json", "--data", "rank-one:dct:0:1", "--num-samples", "16", "--steps", "2",
        "--batch-size", "8", "--out", "run",
    ]
    let geometry = [
        "geometry", "--config", "mlp.json", "--estimator", "importance", "--networks", "32", "--chunk-size", "4",
        "--out", "g",
    ]

    func testIntegerOptionsAtTheirLimits() throws {
        let box = try SadSandbox("ints")
        let max = "\(Int.max)"
        assertRefused(
            try box.run(train + ["--checkpoint-every", "0"]),
            mentions: ["--checkpoint-every", "expected 1…", "found 0"])
        assertRefused(
            try box.run(train + ["--batch-size", max]), mentions: ["--batch-size", "expected 1…", "found \(max)"])
        assertRefused(try box.run(train + ["--num-samples", max]), mentions: ["--num-samples", "found \(max)"])
        assertRefused(try box.run(train + ["--steps", "0"]), mentions: ["--steps", "found 0"])
        assertRefused(
            try box.run(train + ["--micro-batch", max]), mentions: ["--micro-batch", "expected 0…", "found \(max)"])
        assertRefused(
            try box.run(["bench", "--micro-batch", "100001"]),
            mentions: ["--micro-batch", "expected 0…100000", "found 100001"])
        assertRefused(try box.run(geometry + ["--networks", max]), mentions: ["--networks", "found \(max)"])
        assertRefused(
            try box.run(geometry + ["--networks", "1000000000", "--chunk-size", "1"]),
            mentions: ["--chunk-size", "chunks"])
        assertRefused(try box.run(geometry + ["--shard", "\(Int.max - 1)/\(max)"]), mentions: ["--shard"])
        assertRefused(try box.run(geometry + ["--shard", "4/4"]), mentions: ["--shard", "4/4"])
        assertRefused(
            try box.run(geometry + ["--checkpoint-seconds", "nan"]), mentions: ["--checkpoint-seconds", "found nan"])
        assertRefused(
            try box.run(["dataset", "--data", "rank-one:dct:0:1", "--count", max, "--out", "d.npy"]),
            mentions: ["--count"])
        assertRefused(
            try box.run([
                "dataset", "--data", "rank-one:dct:0:1", "--shape", "1,4294967296,4294967296", "--out", "d.npy",
            ]),
            mentions: ["--shape", "1…4096"])
        assertRefused(
            try box.run([
                "evaluate", "--samples", "a.npy", "--reference", "b.npy", "--num-projections", "0", "--out", "r",
            ]),
            mentions: ["--num-projections", "found 0"])
        assertRefused(try box.run(["reproduce", "fig4", "--seeds", "0"]), mentions: ["--seeds", "found 0"])
        assertRefused(
            try box.run(["sweep", "fig4", "--shards", "0", "--out", "s"]), mentions: ["--shards", "found 0"])
    }

    func testTypedValuesAreParsedAtTheEdge() throws {
        let box = try SadSandbox("typed")
        assertRefused(try box.run(geometry + ["--estimator", "fast"]), mentions: ["--estimator", "fast"])
        assertRefused(try box.run(geometry + ["--symmetry", "dihedral"]), mentions: ["--symmetry", "dihedral"])
        assertRefused(
            try box.run(["geometry", "sketch", "--config", "mlp.json", "--symmetry", "all", "--out", "s"]),
            mentions: ["--symmetry", "all"])
        assertRefused(try box.run(geometry + ["--probe", "gaussian:nan"]), mentions: ["--probe", "gaussian:nan"])
        assertRefused(try box.run(geometry + ["--probe", "gaussian:1e30"]), mentions: ["--probe"])
        assertRefused(try box.run(geometry + ["--init-scheme", "xavier"]), mentions: ["--init-scheme", "xavier"])
        assertRefused(try box.run(["reproduce", "fig4", "--profile", "huge"]), mentions: ["--profile", "huge"])
        assertRefused(try box.run(["sweep", "fig4", "--emit", "pbs", "--out", "s"]), mentions: ["--emit", "pbs"])
        assertRefused(try box.run(["sweep", "fig4", "--time", "24h", "--out", "s"]), mentions: ["--time", "24h"])
        // Several run directories are a combined Fig. 8 summary, which needs --out.
        assertRefused(try box.run(["report", "a", "b"]), mentions: ["--out"])
    }

    func testEnvironmentVariables() throws {
        let box = try SadSandbox("env")
        for bad in ["0", "abc", "99999999999", "-3", ""] {
            assertRefused(
                try box.run(geometry, env: ["SAD_THREADS": bad]), mentions: ["SAD_THREADS", "expected", "found"])
        }
        assertRefused(try box.run(geometry, env: ["SAD_MAX_MEMORY_MB": "lots"]), mentions: ["SAD_MAX_MEMORY_MB"])
        assertSucceeded(try box.run(geometry, env: ["SAD_THREADS": "2"]))
    }

    func testConfigNumbersOutOfRange() throws {
        let box = try SadSandbox("config")
        try box.write("lr.json", SadSandbox.mlp(hidden: 16, learningRate: "1e300"))
        assertRefused(
            try box.run(["geometry", "--config", "lr.json", "--estimator", "importance", "--out", "g"]),
            mentions: ["lr.json", "learning_rate", "expected", "found 1e+300"])
        try box.write(
            "dit.json",
            """
            {"shape": [1, 4, 4], "learning_rate": 1e-3, "grad_clip": 1.0,
             "diffuser": {"T": 100, "linear": true,
                          "model": {"hidden_size": 8, "depth": 1, "num_heads": 2, "mlp_ratio": 1e300}}}
            """)
        assertRefused(
            try box.run(["geometry", "--config", "dit.json", "--estimator", "importance", "--out", "g"]),
            mentions: ["dit.json", "diffuser.model.mlp_ratio", "expected", "found"])
        try box.write("shape.json", SadSandbox.mlp(hidden: 16, shape: "[4096, 4096, 4096]"))
        assertRefused(
            try box.run(["geometry", "--config", "shape.json", "--estimator", "importance", "--out", "g"]),
            mentions: ["shape.json", "shape", "expected C·H·W ≤", "found"])
        try box.write("wide.json", SadSandbox.mlp(hidden: 65536, shape: "[3, 256, 256]"))
        assertRefused(
            try box.run(["init-stats", "--config", "wide.json", "--networks", "2"]),
            mentions: ["wide.json", "diffuser.model", "2³¹ parameters"])
        try box.write("big.json", SadSandbox.mlp(hidden: 4096, shape: "[3, 64, 64]"))
        assertRefused(
            try box.run(["init-stats", "--config", "big.json", "--networks", "2"], env: ["SAD_MAX_MEMORY_MB": "1024"]),
            mentions: ["big.json", "diffuser.model", "memory budget", "needed"])
    }

    /// Clean controls: tiny D (< 8, which used to crash the summary) and ordinary runs work.
    func testCleanControlsStillWork() throws {
        let box = try SadSandbox("controls")
        try box.write("tiny.json", SadSandbox.mlp(hidden: 8, shape: "[1, 1, 2]"))
        let r = try box.run([
            "geometry", "--config", "tiny.json", "--estimator", "importance", "--networks", "16", "--chunk-size", "2",
            "--out", "tiny",
        ])
        assertSucceeded(r)
        XCTAssertTrue(r.stdout.contains("SAD"), r.stdout)
        assertSucceeded(try box.run(train))
        assertSucceeded(
            try box.run([
                "sample", "--config", "mlp.json", "--checkpoint", "run/model.safetensors", "--count", "5",
                "--steps", "4", "--out", "s.npy",
            ]))
        assertSucceeded(
            try box.run(["dataset", "--data", "rank-one:dct:0:1", "--shape", "1,4,4", "--count", "5", "--out", "d.npy"])
        )
        assertSucceeded(try box.run(["evaluate", "--samples", "s.npy", "--reference", "d.npy", "--out", "r.json"]))
        assertSucceeded(try box.run(["geometry", "data", "d.npy", "--out", "m"]))
    }
}
