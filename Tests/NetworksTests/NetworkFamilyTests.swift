import Foundation
import TestSupport
import XCTest
@testable import Networks
import Formats
import Tensors

let configRoot = TestPaths.configs

func loadConfig(_ name: String) throws -> NetworkConfig { try NetworkConfig.load("\(configRoot)/\(name).json") }

final class NetworkFamilyTests: XCTestCase {
    func testParameterCountsOfEveryReferenceConfig() throws {
        let expected = [
            "1x16x16-iddpm": 381_121, "1x28x28-iddpm": 551_713, "1x56x56-iddpm": 718_049, "3x32x32-iddpm": 719_203,
        ]
        for (name, count) in expected {
            for interpolation in Interpolation.allCases {
                let config = try loadConfig(name).with(interpolation: interpolation)
                let specs = makeArchitecture(config).parameterSpecs(scheme: .reference)
                XCTAssertEqual(specs.reduce(0) { $0 + $1.count }, count, "\(name) \(interpolation)")
            }
        }
        for (patch, trainable, frozen) in [(2, 282_868, 3_072), (4, 284_032, 768)] {
            let config = try loadConfig("1x16x16-dit").with(patchSize: patch)
            let p = ParameterSet(
                specs: makeArchitecture(config).parameterSpecs(scheme: .reference), seed: 1, networkIndex: 0)
            XCTAssertEqual(p.trainableCount, trainable, "DiT/\(patch)")
            XCTAssertEqual(p.frozenCount, frozen, "DiT/\(patch)")
        }
    }

    /// The 56×56 and 3×32×32 U-Nets (no forward fixture for 56) run and keep the shape.
    func testLargeUNetsRun() throws {
        for name in ["1x56x56-iddpm", "3x32x32-iddpm"] {
            let config = try loadConfig(name)
            let net = ScoreNetwork(makeArchitecture(config), seed: 3)
            let x = RandomStream(seed: 1, purpose: .test).normalTensor([1] + config.shape)
            let y = net.epsilon(x, timesteps: [10])
            XCTAssertEqual(y.shape, [1] + config.shape)
            XCTAssertTrue(y.data.allSatisfy { $0.isFinite })
        }
    }

    /// E‖ε̂(0, t)‖² at init: spec §3.4 measured 29.97 ± 0.18 (t = 0) with the reference
    /// modules over 2000 networks; the DiT closed form gives σ_w²·48·256 = 472.6 (§4.4).
    func testInitStatisticsMatchTheReference() throws {
        let unet = try InitStatistics.measure(
            config: try loadConfig("1x16x16-iddpm"), networks: 2000, seed: 7, timestep: 0)
        XCTAssertEqual(unet.meanSquaredNorm, 30.0, accuracy: 0.6, "\(unet)")
        XCTAssertLessThan(unet.standardError, 0.3)
        let dit = try InitStatistics.measure(
            config: try loadConfig("1x16x16-dit"), networks: 2000, seed: 7, timestep: 0)
        XCTAssertEqual(dit.meanSquaredNorm, 472.6, accuracy: 0.02 * 472.6, "\(dit)")
    }

    func testNetworksAreKeyedBySeedAndIndexOnly() throws {
        let arch = makeArchitecture(try loadConfig("1x16x16-iddpm"))
        let a = ScoreNetwork(arch, seed: 5, networkIndex: 17).parameters
        let b = ScoreNetwork(arch, seed: 5, networkIndex: 17).parameters
        let c = ScoreNetwork(arch, seed: 5, networkIndex: 18).parameters
        XCTAssertEqual(a.values, b.values)
        XCTAssertNotEqual(a.values["model.out.2.weight"], c.values["model.out.2.weight"])
        // PyTorch default bounds: conv_in has fan_in 9, so |w| ≤ 1/3.
        let w = a.values["model.input_blocks.0.0.weight"]!
        XCTAssertLessThanOrEqual(w.data.map(abs).max()!, 1 / 3)
        XCTAssertGreaterThan(w.data.map(abs).max()!, 0.25)
        XCTAssertEqual(a.values["model.out.0.weight"]!.data, [Float](repeating: 1, count: 32))
    }

    func testZeroInitGivesZeroOutput() throws {
        for name in ["1x16x16-iddpm", "1x16x16-dit", "1x16x16-mlp"] {
            let net = ScoreNetwork(makeArchitecture(try loadConfig(name)), seed: 2, scheme: .zeroInit)
            let x = RandomStream(seed: 3, purpose: .test).normalTensor([2, 1, 16, 16])
            XCTAssertEqual(net.epsilon(x, timesteps: [3, 700]).data.map(abs).max(), 0, name)
        }
    }

    /// With kernels averaged over the square's symmetries and zero biases, the "area" U-Net
    /// commutes with transposes and flips; "nearest" (stride-2, top/left padding) only with
    /// transposes — the asymmetry spec §3.4 reports for the reference geometry.
    func testSymmetricInitEquivariance() throws {
        func transpose(_ t: Tensor) -> Tensor { Permute.forward(t, [0, 1, 3, 2]) }
        func flip(_ t: Tensor) -> Tensor {
            var out = t
            let w = t.shape[3]
            for r in 0..<(t.count / w) { for j in 0..<w { out.data[r * w + j] = t.data[r * w + w - 1 - j] } }
            return out
        }
        let x = RandomStream(seed: 4, purpose: .test).normalTensor([1, 1, 16, 16])
        for interpolation in Interpolation.allCases {
            let config = try loadConfig("1x16x16-iddpm").with(interpolation: interpolation)
            let net = ScoreNetwork(makeArchitecture(config), seed: 9, scheme: .symmetric)
            let y = net.epsilon(x, timesteps: [5])
            let scale = y.data.map(abs).max()!
            XCTAssertLessThan(
                net.epsilon(transpose(x), timesteps: [5]).maxAbsDifference(transpose(y)), 1e-4 * scale,
                "\(interpolation) transpose")
            let flipError = net.epsilon(flip(x), timesteps: [5]).maxAbsDifference(flip(y))
            if interpolation == .area {
                XCTAssertLessThan(flipError, 1e-4 * scale, "area flip")
            } else {
                XCTAssertGreaterThan(flipError, 1e-2 * scale, "nearest is not flip-equivariant")
            }
        }
    }

    /// Parameter gradients of the families without a reference fixture, by finite differences.
    func testMLPAndLinearGradients() throws {
        let mlp = try NetworkConfig.parse(
            Array(
                """
                {"shape": [1, 4, 4], "learning_rate": 1e-3, "grad_clip": 1, "diffuser": {"T": 1000, "linear": true,
                 "model": {"type": "mlp", "hidden": [8, 8], "time_embedding_dim": 4}}}
                """.utf8))
        let lin = try NetworkConfig.parse(
            Array(
                """
                {"shape": [1, 4, 4], "learning_rate": 1e-3, "grad_clip": 1, "diffuser": {"T": 1000, "linear": true,
                 "model": {"type": "linear", "features": 5, "theta_std": 0.3}}}
                """.utf8))
        for config in [mlp, lin] {
            let net = ScoreNetwork(makeArchitecture(config), seed: 1)
            let x = RandomStream(seed: 2, purpose: .test).normalTensor([3, 1, 4, 4])
            let target = RandomStream(seed: 3, purpose: .test).normalTensor([3, 1, 4, 4])
            let t: [Float] = [1, 20, 300]
            let (_, _, grads) = net.lossAndGradients(xt: x, timesteps: t, target: target)
            for spec in net.parameters.specs where spec.trainable {
                for j in [0, spec.count / 2, spec.count - 1] {
                    var plus = net, minus = net
                    var vp = net.parameters[spec.name]!, vm = vp
                    let h: Float = 1e-2
                    vp.data[j] += h; vm.data[j] -= h
                    plus.parameters.set(spec.name, vp); minus.parameters.set(spec.name, vm)
                    let lp = MSE.forward(plus.epsilon(x, timesteps: t), target)
                    let lm = MSE.forward(minus.epsilon(x, timesteps: t), target)
                    let fd = (lp - lm) / (2 * h)
                    XCTAssertEqual(
                        grads[spec.name]!.data[j], fd, accuracy: 2e-3 * max(1, abs(fd)),
                        "\(config.summary) \(spec.name)[\(j)]")
                }
            }
        }
    }

    func testConfigErrorsNameTheField() {
        func expectError(_ json: String, _ words: [String], line: UInt = #line) {
            do {
                _ = try NetworkConfig.parse(Array(json.utf8), file: "c.json")
                XCTFail("expected an error mentioning \(words)", line: line)
            } catch let e as ConfigError {
                for w in words { XCTAssertTrue(e.description.contains(w), "'\(e)' lacks '\(w)'", line: line) }
            } catch { XCTFail("\(error)", line: line) }
        }
        let unet =
            #""base_channels": 32, "num_res_attn_blocks": 1, "channel_mults": [1, 1], "is_attn": [false, "#
            + #"false, false], "num_heads": 4, "dropout": 0.0, "use_scale_shift_norm": false"#
        func wrap(_ model: String, shape: String = "[1, 16, 16]") -> String {
            #"{"shape": \#(shape), "learning_rate": 1e-4, "grad_clip": 1.0, "diffuser": {"T": 1000, "#
                + #""linear": true, "model": {\#(model)}}}"#
        }
        expectError("{", ["c.json", "valid JSON"])
        expectError(wrap(unet + #", "colour": 1"#), ["diffuser.model.colour", "unknown key"])
        expectError(
            wrap(unet.replacingOccurrences(of: "\"base_channels\": 32", with: "\"base_channels\": 48")),
            ["base_channels", "32 groups"])
        expectError(
            wrap(unet.replacingOccurrences(of: "\"num_heads\": 4", with: "\"num_heads\": 5")), ["num_heads", "divisor"])
        expectError(wrap(unet, shape: "[1, 18, 18]"), ["shape", "divisible by 2^2"])
        expectError(wrap(unet.replacingOccurrences(of: "\"dropout\": 0.0", with: "\"dropout\": 0.1")), ["dropout"])
        expectError(wrap(unet.replacingOccurrences(of: "1, 1]", with: "1, \"x\"]")), ["channel_mults[1]", "integer"])
        expectError(wrap(unet + #", "interpolation": "bicubic""#), ["interpolation", "nearest"])
        expectError(
            wrap(#""hidden_size": 48, "depth": 8, "num_heads": 4, "mlp_ratio": 2, "patch_size": 3"#),
            ["patch_size", "divisor of the image size 16"])
        expectError(
            wrap(#""hidden_size": 50, "depth": 8, "num_heads": 5, "mlp_ratio": 2"#), ["hidden_size", "multiple of 4"])
        expectError(
            wrap(#""hidden_size": 48, "depth": 8, "num_heads": 4, "mlp_ratio": 2"#, shape: "[1, 16]"),
            ["shape", "[C, H, W]"])
        expectError(wrap(#""type": "resnet""#), ["diffuser.model.type", "mlp"])
        expectError(#"{"shape": [1, 16, 16], "learning_rate": 1e-4, "grad_clip": 1.0}"#, ["diffuser", "object"])
        XCTAssertThrowsError(try loadConfig("1x16x16-dit").with(patchSize: 5))
    }

    func testCheckpointRoundTripAndErrors() throws {
        let arch = makeArchitecture(try loadConfig("1x16x16-dit"))
        let net = ScoreNetwork(arch, seed: 11)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sad-ckpt-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try SafeTensors.write(net.parameters.namedArrays(), to: "\(dir)/w.safetensors")
        let loaded = try ScoreNetwork(arch, checkpoint: try SafeTensors.read("\(dir)/w.safetensors"))
        XCTAssertEqual(loaded.parameters.values, net.parameters.values)
        var arrays = net.parameters.namedArrays()
        arrays.removeLast()
        try SafeTensors.write(arrays, to: "\(dir)/partial.safetensors")
        XCTAssertThrowsError(try ScoreNetwork(arch, checkpoint: try SafeTensors.read("\(dir)/partial.safetensors"))) {
            error in
            XCTAssertTrue("\(error)".contains("model.final_layer.adaLN_modulation.1.bias"), "\(error)")
        }
        // A U-Net checkpoint for a DiT: named shape/key errors, not a crash.
        let unet = ScoreNetwork(makeArchitecture(try loadConfig("1x16x16-iddpm")), seed: 1)
        try SafeTensors.write(unet.parameters.namedArrays(), to: "\(dir)/unet.safetensors")
        XCTAssertThrowsError(try ScoreNetwork(arch, checkpoint: try SafeTensors.read("\(dir)/unet.safetensors")))
    }
}
