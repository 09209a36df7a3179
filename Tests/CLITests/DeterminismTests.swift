import Formats
import TestSupport
import Foundation
import XCTest

/// Class 1: the *output files* (vals.npy, vecs.npy, geometry.npy, result.json, model weights)
/// are bitwise identical for any thread count, shard split + merge, and SIGKILL + resume.
final class DeterminismTests: XCTestCase {
    let geometry = [
        "geometry", "--config", "mlp.json", "--estimator", "importance", "--networks", "96", "--chunk-size", "8",
        "--probe", "gaussian:1",
    ]
    let outputs = ["vals.npy", "vecs.npy", "geometry.npy", "diagnostics.json", "summary.txt"]

    func assertSameFiles(
        _ box: SadSandbox, _ a: String, _ b: String, _ names: [String], file: StaticString = #filePath,
        line: UInt = #line
    ) throws {
        for name in names {
            XCTAssertEqual(
                try box.bytes("\(a)/\(name)"), try box.bytes("\(b)/\(name)"), "\(a)/\(name) ≠ \(b)/\(name)",
                file: file, line: line)
        }
    }

    func testGeometryOutputsIdenticalForThreadCounts() throws {
        let box = try SadSandbox("threads")
        assertSucceeded(try box.run(geometry + ["--threads", "1", "--out", "one"]))
        assertSucceeded(try box.run(geometry + ["--threads", "2", "--out", "two"]))
        assertSucceeded(try box.run(geometry + ["--out", "env"], env: ["SAD_THREADS": "3"]))
        try assertSameFiles(box, "one", "two", outputs)
        try assertSameFiles(box, "one", "env", outputs)
    }

    func testFourShardsMergedEqualTheSingleRun() throws {
        let box = try SadSandbox("shards")
        assertSucceeded(try box.run(geometry + ["--out", "single"]))
        for i in 0..<4 {
            assertSucceeded(
                try box.run(geometry + ["--shard", "\(i)/4", "--out", "s\(i)", "--threads", "\(1 + i % 2)"]))
        }
        assertSucceeded(try box.run(["geometry", "merge", "s2", "s0", "s3", "s1", "--out", "merged"]))
        try assertSameFiles(box, "single", "merged", outputs)
        // A finished run rerun (it reloads its state and rediagonalises) writes the same files.
        assertSucceeded(try box.run(geometry + ["--out", "single", "--threads", "2"]))
        try assertSameFiles(box, "single", "merged", outputs)
    }

    func testKilledAtARandomPointThenResumedEqualsUninterrupted() throws {
        let box = try SadSandbox("kill")
        try box.write("k.json", SadSandbox.mlp(hidden: 256, shape: "[1, 8, 8]"))
        // About 3 s on 2 cores, checkpointing after every wave of chunks.
        let long = [
            "geometry", "--config", "k.json", "--estimator", "importance", "--networks", "40000", "--chunk-size", "16",
            "--probe", "gaussian:1", "--checkpoint-seconds", "0",
        ]
        assertSucceeded(try box.run(long + ["--out", "straight"]))
        var generator = SystemRandomNumberGenerator()
        let process = try box.start(long + ["--out", "killed"])
        // Wait for the first checkpoint, then kill at a random moment after it.
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: box.path("killed/state.safetensors")) && Date() < deadline
            && process.isRunning
        {
            usleep(5_000)
        }
        usleep(UInt32.random(in: 0...1_000_000, using: &generator))
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .uncaughtSignal, "the run finished before it could be killed")
        assertSucceeded(try box.run(long + ["--out", "killed"]))
        try assertSameFiles(box, "straight", "killed", outputs)
    }

    func testTrainingAndMetricsIdenticalAcrossThreadsAndResume() throws {
        let box = try SadSandbox("train")
        let train = [
            "train", "--config", "mlp.json", "--data", "rank-one:dct:1:2", "--num-samples", "64", "--batch-size", "16",
            "--checkpoint-every", "5",
        ]
        assertSucceeded(try box.run(train + ["--steps", "20", "--threads", "1", "--out", "a"]))
        assertSucceeded(try box.run(train + ["--steps", "20", "--threads", "2", "--out", "b"]))
        assertSucceeded(try box.run(train + ["--steps", "10", "--out", "c"]))
        assertSucceeded(try box.run(train + ["--steps", "20", "--out", "c"]))
        for dir in ["b", "c"] {
            XCTAssertEqual(try box.bytes("a/model.safetensors"), try box.bytes("\(dir)/model.safetensors"), dir)
        }
        assertSucceeded(
            try box.run([
                "dataset", "--data", "rank-one:dct:1:2", "--shape", "1,4,4", "--count", "50", "--out", "ref.npy",
            ]))
        let sample = [
            "sample", "--config", "mlp.json", "--checkpoint", "a/model.safetensors", "--count", "50", "--steps", "10",
        ]
        assertSucceeded(try box.run(sample + ["--threads", "1", "--out", "s1.npy"]))
        assertSucceeded(try box.run(sample + ["--threads", "2", "--batch-size", "7", "--out", "s2.npy"]))
        let evaluate = ["evaluate", "--samples", "s1.npy", "--reference", "ref.npy"]
        assertSucceeded(try box.run(evaluate + ["--threads", "1", "--out", "r1.json"]))
        assertSucceeded(try box.run(evaluate + ["--threads", "2", "--out", "r2.json"]))
        XCTAssertEqual(try box.bytes("r1.json"), try box.bytes("r2.json"))
    }

    /// A U-Net trained in micro-batches (batch 80 → two of 40): the same model file for 1 and 2
    /// threads and after a resume; a resume with another cut is refused.
    func testMicroBatchedTrainingIdenticalAcrossThreadsAndResume() throws {
        let box = try SadSandbox("train-micro")
        let train = [
            "train", "--config", "\(TestPaths.configs)/1x16x16-iddpm.json", "--data", "rank-one:dct:1:2",
            "--num-samples", "80", "--batch-size", "80", "--checkpoint-every", "1",
        ]
        assertSucceeded(try box.run(train + ["--steps", "3", "--threads", "1", "--out", "a"]))
        assertSucceeded(try box.run(train + ["--steps", "3", "--threads", "2", "--out", "b"]))
        assertSucceeded(try box.run(train + ["--steps", "1", "--out", "c"]))
        assertSucceeded(try box.run(train + ["--steps", "3", "--out", "c"]))
        for dir in ["b", "c"] {
            XCTAssertEqual(try box.bytes("a/model.safetensors"), try box.bytes("\(dir)/model.safetensors"), dir)
        }
        // Resuming with another cut is refused (the checkpoint records micro_batch = 64).
        let other = try box.run(train + ["--steps", "4", "--micro-batch", "0", "--out", "c"])
        XCTAssertNotEqual(other.status, 0)
        XCTAssertTrue(other.stderr.contains("micro_batch"), other.stderr)
    }
}
