import Formats
import Foundation
import XCTest

/// Class 2: resume and merge refuse anything that is not the same computation, naming the
/// first differing field.
final class RunIdentityTests: XCTestCase {
    func testMergeRefusesShardsOfDifferentNetworks() throws {
        let box = try SadSandbox("merge-identity")
        let g = ["geometry", "--estimator", "importance", "--networks", "32", "--chunk-size", "4"]
        assertSucceeded(try box.run(g + ["--config", "mlp.json", "--shard", "0/2", "--out", "a"]))
        try box.write(
            "mlp-t16.json",
            SadSandbox.mlp(hidden: 16).replacingOccurrences(
                of: "\"time_embedding_dim\": 8",
                with: "\"time_embedding_dim\": 16"))
        assertSucceeded(try box.run(g + ["--config", "mlp-t16.json", "--shard", "1/2", "--out", "b"]))
        // The same summary line ("MLP [16] 1x4x4"): the differing architecture field is named.
        let r = try box.run(["geometry", "merge", "a", "b", "--out", "m"])
        assertRefused(r, mentions: ["b/state.safetensors", "timeEmbeddingDim", "expected 8", "found 16"])
        assertSucceeded(try box.run(g + ["--config", "mlp32.json", "--shard", "1/2", "--out", "w"]))
        assertRefused(
            try box.run(["geometry", "merge", "a", "w", "--out", "m"]), mentions: ["w/state.safetensors", "MLP [32]"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: box.path("m/vals.npy")))
        // Shards of different seeds, and the same shard twice.
        assertSucceeded(try box.run(g + ["--config", "mlp.json", "--shard", "1/2", "--seed", "7", "--out", "c"]))
        assertRefused(
            try box.run(["geometry", "merge", "a", "c", "--out", "m"]),
            mentions: ["c/state.safetensors", "seed", "expected 0", "found 7"])
        assertRefused(try box.run(["geometry", "merge", "a", "a", "--out", "m"]), mentions: ["chunks.done", "twice"])
    }

    func testGeometryResumeRefusesOtherSettings() throws {
        let box = try SadSandbox("geometry-resume")
        let g = [
            "geometry", "--config", "mlp.json", "--estimator", "importance", "--networks", "32", "--chunk-size", "4",
            "--out", "run",
        ]
        assertSucceeded(try box.run(g))
        assertRefused(
            try box.run(g + ["--probe", "gaussian:2"]),
            mentions: ["run/state.safetensors", "probe", "expected", "found"])
        assertRefused(try box.run(g + ["--chunk-size", "8"]), mentions: ["chunk_size", "expected 8", "found 4"])
        try box.write("mlp-other-lr.json", SadSandbox.mlp(hidden: 16, learningRate: "5e-4"))
        assertRefused(
            try box.run([
                "geometry", "--config", "mlp-other-lr.json", "--estimator", "importance", "--networks", "32",
                "--chunk-size", "4", "--out", "run",
            ]), mentions: ["learningRate", "expected", "found"])
        assertSucceeded(try box.run(g))  // the same settings still resume
    }

    func testTrainingResumeRefusesDifferentData() throws {
        let box = try SadSandbox("train-resume")
        let t = ["train", "--config", "mlp.json", "--batch-size", "8", "--steps", "4", "--out", "run"]
        assertSucceeded(try box.run(t + ["--data", "rank-one:dct:0:1", "--num-samples", "16"]))
        let more = ["--steps", "8"]
        assertRefused(
            try box.run(t + more + ["--data", "rank-one:dct:0:2", "--num-samples", "16"]),
            mentions: ["run/checkpoint.safetensors", "data", "expected rank-one:dct:0:2", "found rank-one:dct:0:1"])
        assertRefused(
            try box.run(t + more + ["--data", "rank-one:dct:0:1", "--num-samples", "17"]),
            mentions: ["num_samples", "expected 17", "found 16"])
        assertRefused(
            try box.run([
                "train", "--config", "mlp-lr.json", "--batch-size", "8", "--steps", "8", "--out", "run",
                "--data", "rank-one:dct:0:1", "--num-samples", "16",
            ]),
            mentions: ["learningRate", "expected 0.002", "found 0.001"])
        assertRefused(
            try box.run(t + more + ["--data", "rank-one:dct:0:1", "--num-samples", "16", "--seed", "3"]),
            mentions: ["seed", "expected 3", "found 0"])
        // A transform changes the data: refused too.
        var eye = [Float](repeating: 0, count: 256)
        for i in 0..<16 { eye[i * 16 + (15 - i)] = 1 }
        try Npy.write(NDArray(shape: [16, 16], float32: eye), to: box.path("w.npy"))
        assertRefused(
            try box.run(t + more + ["--data", "rank-one:dct:0:1", "--num-samples", "16", "--transform", "w.npy"]),
            mentions: ["transform.sha256", "expected", "found none"])
        assertSucceeded(try box.run(t + more + ["--data", "rank-one:dct:0:1", "--num-samples", "16"]))
    }

    func testSweepRefusesOtherOptions() throws {
        let box = try SadSandbox("sweep-identity")
        assertSucceeded(try box.run(["reproduce", "fig4", "--seeds", "1", "--prepare-only", "--out", "run"]))
        assertRefused(
            try box.run(["reproduce", "fig4", "--seeds", "2", "--prepare-only", "--out", "run"]),
            mentions: ["run/sweep.json", "seeds", "expected 2", "found 1"])
        assertRefused(
            try box.run(["reproduce", "fig1", "--seeds", "1", "--prepare-only", "--out", "run"]),
            mentions: ["run/sweep.json", "recipe", "expected fig1", "found fig4"])
    }
}
