import Formats
import Foundation
import XCTest

/// Class 3: NaN and infinity are caught where they arise (data, transforms, parameter updates,
/// restored checkpoints, samples, geometry chunk sums) and never written with exit code 0.
final class NonFiniteTests: XCTestCase {
    func testTransformWithNaNIsRefused() throws {
        let box = try SadSandbox("nan-transform")
        var eye = [Float](repeating: 0, count: 256)
        for i in 0..<16 { eye[i * 17] = 1 }
        eye[5] = .nan
        try Npy.write(NDArray(shape: [16, 16], float32: eye), to: box.path("w.npy"))
        let r = try box.run([
            "train", "--config", "mlp.json", "--data", "rank-one:dct:0:1", "--num-samples", "16", "--steps", "2",
            "--batch-size", "8", "--transform", "w.npy", "--out", "run",
        ])
        assertRefused(r, mentions: ["w.npy", "W", "expected finite values", "nan"])
    }

    func testDataWithInfinityIsRefused() throws {
        let box = try SadSandbox("inf-data")
        var x = [Float](repeating: 0.5, count: 4 * 16)
        x[17] = .infinity
        try Npy.write(NDArray(shape: [4, 1, 4, 4], float32: x), to: box.path("x.npy"))
        assertRefused(
            try box.run([
                "train", "--config", "mlp.json", "--data", "x.npy", "--steps", "2", "--batch-size", "2", "--out", "run",
            ]),
            mentions: ["x.npy", "data", "expected finite values", "found"])
        assertRefused(
            try box.run(["geometry", "data", "x.npy", "--out", "m"]),
            mentions: ["x.npy", "data", "expected finite", "inf"])
        try Npy.write(NDArray(shape: [4, 1, 4, 4], float32: x), to: box.path("samples.npy"))
        try Npy.write(NDArray(shape: [4, 1, 4, 4], float32: [Float](repeating: 0, count: 64)), to: box.path("ref.npy"))
        assertRefused(
            try box.run(["evaluate", "--samples", "samples.npy", "--reference", "ref.npy", "--out", "r.json"]),
            mentions: ["samples", "values", "expected finite values"])
    }

    func testDivergingTrainingStopsAndWritesNoModel() throws {
        let box = try SadSandbox("diverge")
        try box.write("hot.json", SadSandbox.mlp(hidden: 16, learningRate: "10"))
        // Finite data whose squared network output overflows Float32.
        var x = [Float](repeating: 0, count: 8 * 16)
        for i in 0..<x.count { x[i] = Float(i % 7 - 3) * 1e30 }
        try Npy.write(NDArray(shape: [8, 1, 4, 4], float32: x), to: box.path("x.npy"))
        let r = try box.run([
            "train", "--config", "hot.json", "--data", "x.npy", "--steps", "200", "--batch-size", "8", "--out", "run",
        ])
        assertRefused(r, mentions: ["step"])
        XCTAssertTrue(r.output.contains("diverged") || r.output.contains("expected finite values"), r.output)
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: box.path("run/model.safetensors")), "a diverged run wrote a model")
    }

    func testCheckpointWithInfiniteWeightsIsRefusedBySample() throws {
        let box = try SadSandbox("inf-weights")
        assertSucceeded(
            try box.run([
                "train", "--config", "mlp.json", "--data", "rank-one:dct:0:1", "--num-samples", "16", "--steps", "2",
                "--batch-size", "8", "--out", "run",
            ]))
        let file = try SafeTensors.read(box.path("run/model.safetensors"))
        var arrays = file.names.map { ($0, file.arrays[$0]!) }
        let (name, a) = arrays[0]
        guard case var .float32(values) = a.storage else { return XCTFail("float32 weights expected") }
        values[0] = -.infinity
        arrays[0] = (name, NDArray(shape: a.shape, float32: values))
        try SafeTensors.write(arrays, metadata: file.metadata, to: box.path("bad.safetensors"))
        assertRefused(
            try box.run([
                "sample", "--config", "mlp.json", "--checkpoint", "bad.safetensors", "--count", "4", "--steps", "5",
                "--out", "s.npy",
            ]), mentions: ["bad.safetensors", name, "expected finite values"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: box.path("s.npy")))
    }

    func testGeometryOutsideTheAccumulatorsRangeIsRefused() throws {
        let box = try SadSandbox("range")
        let g = [
            "geometry", "--config", "linear.json", "--estimator", "importance", "--networks", "16", "--chunk-size", "4",
        ]
        // ε̂ = Ωx: G scales with σ². A tiny probe would round G to 0, a huge one overflow.
        assertRefused(
            try box.run(g + ["--probe", "gaussian:1e-20", "--out", "tiny"]),
            mentions: ["geometry chunk", "below", "probe"])
        try box.write(
            "wide.json",
            """
            {"shape": [1, 4, 4], "learning_rate": 1e-3, "grad_clip": 1.0,
             "diffuser": {"T": 100, "linear": true, "model": {"type": "linear", "features": 8, "theta_std": 1000}}}
            """)
        assertRefused(
            try box.run([
                "geometry", "--config", "wide.json", "--estimator", "importance", "--networks", "16",
                "--chunk-size", "4", "--probe", "gaussian:1000000", "--out", "huge",
            ]),
            mentions: ["geometry chunk", "exceed", "probe"])
        assertSucceeded(try box.run(g + ["--probe", "gaussian:1", "--out", "fine"]))
    }
}
