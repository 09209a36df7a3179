import Formats
import Foundation
import TestSupport
import XCTest

/// `sad forward/inspect/geometry --onnx` end to end on the copied exports.
final class ONNXCommandTests: XCTestCase {
    let fixtures = TestPaths.onnxFixtures
    var tiny: [String] {
        ["--onnx", fixtures + "/malformed/tiny.seed0.onnx", "--onnx", fixtures + "/malformed/tiny.seed1.onnx"]
    }
    var diffusers: [String] {
        [
            "--onnx", fixtures + "/diffusers-unet2d-16.seed0.onnx", "--onnx",
            fixtures + "/diffusers-unet2d-16.seed1.onnx",
        ]
    }

    func testForwardWritesEpsMatchingPyTorch() throws {
        let box = try SadSandbox("onnx-forward")
        let io = fixtures + "/dit-1x16x16-p2.io.safetensors"
        assertSucceeded(
            try box.run([
                "forward", "--onnx", fixtures + "/dit-1x16x16-p2.seed1.onnx",
                "--inputs", io, "--output", box.path("out.safetensors"),
            ]))
        let out = try SafeTensors.read(box.path("out.safetensors")).tensor("output.eps")
        let reference = try SafeTensors.read(io).tensor("seed1.output.eps")
        XCTAssertLessThan(out.maxAbsDifference(reference), 1e-5)
    }

    func testInspectShowsTheInferredInit() throws {
        let box = try SadSandbox("onnx-inspect")
        let r = try box.run(["inspect"] + diffusers)
        assertSucceeded(r)
        XCTAssertTrue(
            r.stdout.contains("m.conv_out.weight") && r.stdout.contains("PyTorch default of Conv.W"), r.stdout)
        XCTAssertTrue(r.stdout.contains("marginal estimator available"), r.stdout)
    }

    func testGeometryIsBitwiseIdenticalAcrossThreadsAndShards() throws {
        let box = try SadSandbox("onnx-geometry")
        let common = ["geometry"] + tiny + ["--networks", "96", "--chunk-size", "8", "--estimator", "marginal"]
        assertSucceeded(try box.run(common + ["--threads", "1", "--out", box.path("a")]))
        assertSucceeded(try box.run(common + ["--threads", "2", "--out", box.path("b")]))
        for k in 0..<2 {
            assertSucceeded(try box.run(common + ["--shard", "\(k)/2", "--out", box.path("s\(k)")]))
        }
        assertSucceeded(try box.run(["geometry", "merge", box.path("s1"), box.path("s0"), "--out", box.path("m")]))
        for name in ["vals.npy", "vecs.npy", "geometry.npy"] {
            XCTAssertEqual(try box.bytes("a/" + name), try box.bytes("b/" + name), name)
            XCTAssertEqual(try box.bytes("a/" + name), try box.bytes("m/" + name), name)
        }
    }

    func testResumeWithAnotherNetworkIsRefused() throws {
        let box = try SadSandbox("onnx-resume")
        let args = ["--networks", "64", "--chunk-size", "8", "--estimator", "importance", "--out", box.path("g")]
        assertSucceeded(try box.run(["geometry"] + tiny + args))
        try "{\"conv.weight\": \"normal:0.1\"}".write(toFile: box.path("o.json"), atomically: true, encoding: .utf8)
        let r = try box.run(["geometry"] + tiny + ["--init-overrides", box.path("o.json")] + args)
        assertRefused(r, mentions: ["onnx.init_sha256"])
    }

    func testMarginalRefusedWhenTheOutputLayerIsFixed() throws {
        let box = try SadSandbox("onnx-marginal")
        try "{\"conv.*\": \"fixed\"}".write(toFile: box.path("o.json"), atomically: true, encoding: .utf8)
        let r = try box.run(
            ["geometry"] + tiny + [
                "--init-overrides", box.path("o.json"), "--networks", "64",
                "--chunk-size", "8", "--estimator", "marginal", "--out", box.path("g"),
            ])
        assertRefused(r, mentions: ["--estimator", "conv.weight", "fixed"])
    }

    /// The paper's check on an imported network: fig6 (train along the top vs the bottom SAD).
    func testReproduceFig6OnAnImportedNetwork() throws {
        let box = try SadSandbox("onnx-fig6")
        let r = try box.run(["reproduce", "fig6"] + tiny + ["--profile", "quick", "--out", box.path("f6")])
        assertSucceeded(r)
        let result = try JSONSerialization.jsonObject(with: Data(try box.bytes("f6/result.json"))) as? [String: Any]
        let settings = result?["settings"] as? [String: Any]
        XCTAssertEqual(settings?["sad_indices"] as? [Int], [0, 15])
        XCTAssertTrue((settings?["onnx"] as? String)?.contains("graph") == true, "\(settings ?? [:])")
        assertRefused(
            try box.run(["reproduce", "fig4"] + tiny + ["--out", box.path("f4")]), mentions: ["--onnx", "fig6"])
    }

    func testBadSamplesAreRefused() throws {
        let box = try SadSandbox("samples-bad")
        try Npy.write(NDArray(shape: [6], float64: [1, 2, 3, 4, 5, 6]), to: box.path("flat.npy"))
        try Npy.write(NDArray(shape: [40, 4], float64: (0..<160).map { Double($0 % 7) }), to: box.path("F.npy"))
        try Npy.write(NDArray(shape: [40], float64: (0..<40).map { $0 == 3 ? -1 : 1 }), to: box.path("w.npy"))
        try Npy.write(NDArray(shape: [39], float64: [Double](repeating: 1, count: 39)), to: box.path("w39.npy"))
        let out = ["--chunk-size", "8", "--out", box.path("g")]
        assertRefused(
            try box.run(["geometry", "--samples", box.path("flat.npy")] + out),
            mentions: ["flat.npy", "shape", "(M, C, H, W) or (M, D)"])
        assertRefused(
            try box.run(["geometry", "--samples", box.path("F.npy"), "--weights", box.path("w.npy")] + out),
            mentions: ["w.npy", "weights ≥ 0", "-1"])
        assertRefused(
            try box.run(["geometry", "--samples", box.path("F.npy"), "--weights", box.path("w39.npy")] + out),
            mentions: ["w39.npy", "one weight per row"])
        assertRefused(
            try box.run(["geometry", "--config", "mlp.json", "--weights", box.path("w.npy")] + out),
            mentions: ["--weights", "--samples"])
        assertSucceeded(try box.run(["geometry", "--samples", box.path("F.npy")] + out))
    }

    func testBadInputsAreRefused() throws {
        let box = try SadSandbox("onnx-bad")
        try box.write("junk.onnx", "this is not protobuf")
        assertRefused(try box.run(["inspect", "--onnx", box.path("junk.onnx")]), mentions: ["junk.onnx"])
        assertRefused(
            try box.run(["inspect", "--onnx", fixtures + "/malformed/unknown-op.onnx"]),
            mentions: ["FooBar", "supported ops"])
        assertRefused(
            try box.run([
                "geometry", "--onnx", fixtures + "/malformed/tiny.seed0.onnx", "--networks", "64",
                "--out", box.path("g"),
            ]),
            mentions: ["one instance", "--init-overrides"])
        assertRefused(
            try box.run(["geometry"] + tiny + ["--config", "builtin:1x16x16-iddpm", "--out", box.path("g")]),
            mentions: ["--config", "--onnx"])
    }
}
