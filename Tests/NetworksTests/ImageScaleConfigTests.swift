import Foundation
import XCTest
@testable import Networks
import Formats
import Tensors

/// The 3×64×64 config (level attention), the sibling repositories' key aliases, and the
/// output-layer factorization every U-Net and DiT reports.
final class ImageScaleConfigTests: XCTestCase {
    func unetJSON(_ model: String, root: String = "\"shape\": [3, 16, 16]") -> String {
        """
        {\(root), "learning_rate": 1e-3, "grad_clip": 1.0, "diffuser": {"T": 1000, "linear": true, \(model)}}
        """
    }

    let block = """
        "model": {"base_channels": 32, "num_res_attn_blocks": 1, "channel_mults": [1, 1],
        "is_attn": [false, true, false], "num_heads": 4, "dropout": 0.0, "use_scale_shift_norm": false}
        """

    /// is_attn[i] puts an AttentionBlock after every ResBlock of level i, named `….1`, and the
    /// Upsample of that output block moves to `….2`.
    func testLevelAttentionBlocks() throws {
        let config = try NetworkConfig.parse(Array(unetJSON(block).utf8))
        let names = Set(makeArchitecture(config).parameterSpecs(scheme: .reference).map(\.name))
        // Level 1 (8×8): input block 3 (ResBlock after the first Downsample), output blocks 2, 3.
        XCTAssertTrue(names.contains("model.input_blocks.3.1.qkv.weight"), "\(names.sorted().prefix(5))")
        XCTAssertTrue(names.contains("model.output_blocks.2.1.qkv.weight"))
        XCTAssertTrue(names.contains("model.output_blocks.3.1.proj_out.weight"))
        XCTAssertTrue(names.contains("model.output_blocks.3.2.conv.weight"))
        XCTAssertFalse(names.contains("model.input_blocks.1.1.qkv.weight"))
        let net = ScoreNetwork(makeArchitecture(config), seed: 2)
        let y = net.epsilon(RandomStream(seed: 1, purpose: .test).normalTensor([2, 3, 16, 16]), timesteps: [3, 500])
        XCTAssertEqual(y.shape, [2, 3, 16, 16])
        XCTAssertTrue(y.data.allSatisfy { $0.isFinite })
        // A flag list of the wrong length is refused when any flag is set.
        let wrong = block.replacingOccurrences(of: "[false, true, false]", with: "[false, true]")
        XCTAssertThrowsError(try NetworkConfig.parse(Array(unetJSON(wrong).utf8))) {
            XCTAssertTrue("\($0)".contains("is_attn"), "\($0)")
        }
    }

    /// `diffuser.unet`, `num_channels` and `image_size` (+ `in_channels`) read as the reference
    /// keys; conflicting spellings are refused with the field named.
    func testSiblingRepositoryAliases() throws {
        let plain = try NetworkConfig.parse(Array(unetJSON(block).utf8))
        let aliased = block.replacingOccurrences(of: "\"model\"", with: "\"unet\"")
            .replacingOccurrences(of: "base_channels", with: "num_channels")
        let a = try NetworkConfig.parse(Array(unetJSON(aliased, root: "\"image_size\": 16, \"in_channels\": 3").utf8))
        XCTAssertEqual(a.identityFields.map { "\($0)" }, plain.identityFields.map { "\($0)" })
        XCTAssertEqual(
            try NetworkConfig.parse(Array(unetJSON(block, root: "\"shape\": [3, 16, 16], \"image_size\": 16").utf8))
                .shape, [3, 16, 16])
        let cases: [(String, String)] = [
            (unetJSON(block, root: "\"image_size\": 16"), "image_size"),
            (unetJSON(block, root: "\"shape\": [3, 16, 16], \"image_size\": 32"), "image_size"),
            (
                unetJSON(
                    block.replacingOccurrences(
                        of: "\"base_channels\": 32", with: "\"base_channels\": 32, \"num_channels\": 64")),
                "num_channels"
            ),
        ]
        for (json, field) in cases {
            XCTAssertThrowsError(try NetworkConfig.parse(Array(json.utf8))) {
                XCTAssertTrue("\($0)".contains(field), "\($0)")
            }
        }
    }

    /// The 3×64×64 config builds, runs and reports its replicated output conv.
    func testRGB64ConfigAndFactorization() throws {
        let config = try loadConfig("3x64x64-iddpm")
        guard case let .unet(u) = config.model else { return XCTFail("not a U-Net") }
        XCTAssertEqual(u.baseChannels, 64)
        XCTAssertEqual(u.attentionLevels, [false, false, true, false])
        let arch = makeArchitecture(config)
        let net = ScoreNetwork(arch, seed: 1)
        XCTAssertEqual(net.epsilon(Tensor(zeros: [1, 3, 64, 64]), timesteps: [1]).shape, [1, 3, 64, 64])
        let f = try XCTUnwrap((arch as? OutputLayerMarginalizable)?.marginalFactorization(scheme: .reference))
        XCTAssertEqual(f.groups, 3)
        XCTAssertEqual(f.positions, 4096)
        XCTAssertEqual(f.weightVariance, 1 / (3.0 * 64 * 9), accuracy: 1e-15)
        XCTAssertNil((arch as? OutputLayerMarginalizable)?.marginalFactorization(scheme: .symmetric))
    }

    /// K from the feature Gram equals the Gram of the marginal rows of one channel: the
    /// identity the factored estimator rests on, checked on one network.
    func testFeatureGramIdentity() throws {
        let config = try NetworkConfig.parse(Array(unetJSON(block).utf8))
        let arch = makeArchitecture(config) as! OutputLayerMarginalizable
        let net = ScoreNetwork(arch, seed: 4)
        let x = RandomStream(seed: 2, purpose: .test).normalTensor([1, 3, 16, 16])
        let rows = try arch.marginalRows(x, timestep: 7, parameters: net.parameters, scheme: .reference)
        let h = try arch.marginalFeatures(x, timestep: 7, parameters: net.parameters, scheme: .reference)
        let f = arch.marginalFactorization(scheme: .reference)!
        let m = 256, d = 768, fp = f.featurePositions
        var gram = [Double](repeating: 0, count: fp * fp)
        for c in 0..<h.shape[0] {
            for a in 0..<fp {
                for b in a..<fp { gram[a * fp + b] += Double(h.data[c * fp + a]) * Double(h.data[c * fp + b]) }
            }
        }
        let k = f.kernel(featureGram: gram, biasScale: 1)
        var worst = 0.0, scale = 0.0
        for g in 0..<3 {
            for p in 0..<m {
                for q in 0..<m {
                    var full = 0.0
                    for r in 0..<rows.shape[0] {
                        full += Double(rows.data[r * d + g * m + p]) * Double(rows.data[r * d + g * m + q])
                    }
                    worst = max(worst, abs(full - k[p * m + q]))
                    scale = max(scale, abs(full))
                }
            }
        }
        XCTAssertLessThan(worst / scale, 1e-5)
        // Across channels the full Gram is exactly zero: I_C ⊗ K.
        var cross = 0.0
        for r in 0..<rows.shape[0] { cross += abs(Double(rows.data[r * d + 5]) * Double(rows.data[r * d + m + 9])) }
        XCTAssertEqual(cross, 0)
    }
}
