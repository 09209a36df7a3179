import Formats
import Foundation
import TestSupport
import XCTest

/// `sad geometry --checkpoint / --exported-weights / --timesteps / --compare-with`: the
/// geometry of trained networks and of a noise band, compared with the init's (issue 16).
final class TrainedGeometryCommandTests: XCTestCase {
    func trained(_ box: SadSandbox) throws {
        for (seed, out) in [(0, "m0"), (1, "m1")] {
            assertSucceeded(
                try box.run([
                    "train", "--config", "mlp.json", "--data", "rank-one:dct:0:1", "--num-samples", "64", "--steps",
                    "5", "--batch-size", "16", "--seed", "\(seed)", "--out", out,
                ]))
        }
    }

    func geometry(_ extra: [String], out: String, threads: String = "1") -> [String] {
        [
            "geometry", "--config", "mlp.json", "--estimator", "importance", "--probe", "gaussian:1", "--networks",
            "64", "--chunk-size", "8", "--threads", threads, "--out", out,
        ] + extra
    }

    func testTrainedGeometryIsDeterministicAndComparedWithTheInit() throws {
        let box = try SadSandbox("trained-geometry")
        try trained(box)
        let checkpoints = ["--checkpoint", "m0/model.safetensors", "--checkpoint", "m1/model.safetensors"]
        assertSucceeded(try box.run(geometry([], out: "init")))
        assertSucceeded(
            try box.run(geometry(checkpoints + ["--compare-with", "init", "--compare-k", "4"], out: "a")))
        assertSucceeded(try box.run(geometry(checkpoints, out: "b", threads: "2")))
        // Same networks and seeds: the same bytes for any thread count.
        XCTAssertEqual(try box.bytes("a/vals.npy"), try box.bytes("b/vals.npy"))
        XCTAssertEqual(try box.bytes("a/vecs.npy"), try box.bytes("b/vecs.npy"))
        // Trained networks are not the init: the geometry differs, and the manifest names them.
        XCTAssertNotEqual(try box.bytes("a/vals.npy"), try box.bytes("init/vals.npy"))
        let manifest = String(decoding: try box.bytes("a/manifest.json"), as: UTF8.self)
        XCTAssertTrue(manifest.contains("model.safetensors="), manifest)
        let comparison =
            try JSONSerialization.jsonObject(with: Data(try box.bytes("a/comparison.json"))) as! [String: Any]
        let top = comparison["top_angles_degrees"] as! [Double]
        XCTAssertEqual(top.count, 4)
        XCTAssertTrue(top.allSatisfy { (0...90).contains($0) }, "\(top)")
        XCTAssertEqual(top, top.sorted())
        // One checkpoint in a different order is a different run: resume refuses it.
        let swapped = ["--checkpoint", "m1/model.safetensors", "--checkpoint", "m0/model.safetensors"]
        assertRefused(try box.run(geometry(swapped, out: "a")), mentions: ["resume", "trained"])
    }

    func testRefusesWhatOnlyHoldsAtInit() throws {
        let box = try SadSandbox("trained-geometry-refusals")
        try trained(box)
        let one = ["--checkpoint", "m0/model.safetensors"]
        assertRefused(
            try box.run(geometry(one, out: "g").map { $0 == "importance" ? "marginal" : $0 }),
            mentions: ["--estimator", "marginal"])
        assertRefused(try box.run(geometry(one + ["--structure", "factored"], out: "g")), mentions: ["--structure"])
        assertRefused(try box.run(geometry(["--checkpoint", "missing.safetensors"], out: "g")), mentions: ["missing"])
        assertRefused(try box.run(geometry(one + ["--analytic"], out: "g")), mentions: ["--checkpoint"])
        assertRefused(try box.run(geometry(["--exported-weights"], out: "g")), mentions: ["--onnx"])
        assertRefused(try box.run(geometry(["--timesteps", "0:1000"], out: "g")), mentions: ["--timesteps", "0:1000"])
        assertRefused(try box.run(geometry(["--timesteps", "9:3"], out: "g")), mentions: ["--timesteps"])
        assertRefused(try box.run(geometry(["--compare-data", "x.npy"], out: "g")), mentions: ["--compare-with"])
        // A checkpoint of another architecture names the parameter that does not fit.
        try box.write("wide.json", SadSandbox.mlp(hidden: 32))
        assertRefused(
            try box.run(geometry(one, out: "g").map { $0 == "mlp.json" ? "wide.json" : $0 }),
            mentions: ["m0/model.safetensors", "shape"])
    }

    func testTimestepBandIsItsOwnRun() throws {
        let box = try SadSandbox("geometry-band")
        assertSucceeded(try box.run(geometry(["--timesteps", "0:9"], out: "low")))
        assertSucceeded(try box.run(geometry(["--timesteps", "50:99"], out: "high")))
        let low = String(decoding: try box.bytes("low/manifest.json"), as: UTF8.self)
        XCTAssertTrue(low.contains("0:9"), low)
        XCTAssertNotEqual(try box.bytes("low/vals.npy"), try box.bytes("high/vals.npy"))
        assertRefused(try box.run(geometry(["--timesteps", "0:8"], out: "low")), mentions: ["resume"])
    }
}

/// `sad evaluate --score-error`: per-band, per-direction error against the exact Gaussian ε*.
final class ScoreErrorCommandTests: XCTestCase {
    func testScoreErrorWritesBandsAndDirections() throws {
        let box = try SadSandbox("score-error")
        assertSucceeded(
            try box.run([
                "train", "--config", "mlp.json", "--data", "rank-one:dct:0:1", "--num-samples", "64", "--steps", "5",
                "--batch-size", "16", "--out", "m",
            ]))
        let evaluate = [
            "evaluate", "--score-error", "--config", "mlp.json", "--checkpoint", "m/model.safetensors", "--data",
            "rank-one:dct:0:1", "--directions", "basis:dct", "--bands", "2", "--draws", "64", "--out", "r.json",
        ]
        let run = try box.run(evaluate)
        assertSucceeded(run)
        XCTAssertTrue(run.stdout.contains("E‖ε̂ − ε*‖²"), run.stdout)
        let r = try JSONSerialization.jsonObject(with: Data(try box.bytes("r.json"))) as! [String: Any]
        let bands = r["bands"] as! [[String: Any]]
        XCTAssertEqual(bands.count, 2)
        XCTAssertEqual((bands[0]["per_direction"] as! [Double]).count, 16)
        XCTAssertEqual((r["per_direction_standard_error"] as! [Double]).count, 16)
        XCTAssertEqual(r["format"] as? String, "sad-score-error-1")
        // Bitwise the same file for another thread count.
        let first = try box.bytes("r.json")
        assertSucceeded(try box.run(evaluate + ["--threads", "2"]))
        XCTAssertEqual(first, try box.bytes("r.json"))
        // Refusals: a law without a closed-form score, a missing config, a bad band.
        assertRefused(
            try box.run(evaluate.map { $0 == "rank-one:dct:0:1" ? "x.npy" : $0 }), mentions: ["data", "rank-one"])
        assertRefused(try box.run(["evaluate", "--score-error"] + evaluate.dropFirst(4)), mentions: ["--config"])
        assertRefused(try box.run(evaluate + ["--timesteps", "0:100"]), mentions: ["timesteps", "0:100"])
        assertRefused(try box.run(evaluate + ["--draws", "1"]), mentions: ["--draws", "found 1"])
        assertRefused(
            try box.run(evaluate.map { $0 == "basis:dct" ? "basis:fourier" : $0 }), mentions: ["directions"])
    }
}

/// `sad geometry --onnx … --exported-weights`: the geometry of the files' own networks.
final class ExportedWeightsGeometryTests: XCTestCase {
    func testExportedWeightsAreTheirOwnRun() throws {
        let box = try SadSandbox("exported-weights")
        let f = TestPaths.onnxFixtures
        let onnx = ["--onnx", f + "/dit-1x16x16-p2.seed0.onnx", "--onnx", f + "/dit-1x16x16-p2.seed1.onnx"]
        let base =
            ["geometry"] + onnx + [
                "--estimator", "importance", "--probe", "gaussian:1", "--networks", "64", "--chunk-size", "8",
            ]
        assertSucceeded(try box.run(base + ["--exported-weights", "--threads", "1", "--out", "own1"]))
        assertSucceeded(try box.run(base + ["--exported-weights", "--threads", "2", "--out", "own2"]))
        assertSucceeded(try box.run(base + ["--out", "fresh"]))
        XCTAssertEqual(try box.bytes("own1/vals.npy"), try box.bytes("own2/vals.npy"))
        XCTAssertNotEqual(try box.bytes("own1/vals.npy"), try box.bytes("fresh/vals.npy"))
        let manifest = String(decoding: try box.bytes("own1/manifest.json"), as: UTF8.self)
        XCTAssertTrue(manifest.contains("dit-1x16x16-p2.seed0.onnx="), manifest)
        XCTAssertTrue(manifest.contains("dit-1x16x16-p2.seed1.onnx="), manifest)
        assertRefused(
            try box.run(["geometry"] + onnx + ["--exported-weights", "--networks", "64", "--out", "m"]),
            mentions: ["--estimator", "marginal"])
    }
}
