import Diffusion
import Formats
import Interop
import Networks
import Tensors
import XCTest

/// Training an imported network is training the native one: the exported reference U-Net,
/// drawn from its inferred init with the same seed, starts from the native network's weights
/// and follows the same loss curve.
final class ImportedTrainingTests: XCTestCase {
    func testLossCurveMatchesNativeUNet() throws {
        let imported = try ImportedNetwork.load([
            fixture("iddpm-1x16x16-nearest", seed: 0),
            fixture("iddpm-1x16x16-nearest", seed: 1),
        ])
        let config = try BuiltinConfigs.resolve("builtin:1x16x16-iddpm")
        let data = RandomStream(seed: 5, purpose: .noise, index: 0).normalTensor([48, 1, 16, 16])
        // The exporter folded every GroupNorm's affine γ = 1, β = 0 into shared constants
        // (val_34, val_36 …), so the graph has no trainable norm parameters: the native network
        // is trained with its norm parameters frozen for the comparison (docs/ONNX.md).
        let unet = makeArchitecture(config)
        let frozen = unet.parameterSpecs(scheme: .reference).map { s in
            ParameterSpec(s.name, s.shape, s.initializer, role: s.role, trainable: s.role != .normalization)
        }
        let drawn = ScoreNetwork(unet, seed: 7)
        let native = ScoreNetwork(unet, parameters: ParameterSet(specs: frozen, values: drawn.parameters.values))
        let schedule = NoiseSchedule(kind: .linear, timesteps: 1000)
        var a = try Trainer(
            network: ScoreNetwork(imported, seed: 7), data: data, schedule: schedule,
            learningRate: 1e-4, gradClip: 1, batchSize: 16, seed: 3, identity: RunIdentity())
        var b = try Trainer(
            network: native, data: data, schedule: schedule, learningRate: 1e-4, gradClip: 1,
            batchSize: 16, seed: 3, identity: RunIdentity())
        // Same initial weights, name by name (d.model.X ↔ model.X).
        for e in imported.initialisation where e.name.hasPrefix("d.model.") {
            if let v = drawn.parameters[String(e.name.dropFirst(2))] {
                XCTAssertEqual(a.network.parameters[e.name], v, e.name)
            }
        }
        for step in 0..<20 {
            let la = try a.trainStep(), lb = try b.trainStep()
            XCTAssertEqual(la, lb, accuracy: 1e-5 * max(1, abs(lb)), "step \(step)")
        }
    }
}
