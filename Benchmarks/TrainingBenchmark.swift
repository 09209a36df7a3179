import Datasets
import Diffusion
import Foundation
import Metrics
import Networks
import Tensors

/// Training-step and sampling-step times at the reference's batch size, and the metric's
/// time for 10k × 256 with 16,384 projections, as absolute times (no ratio against numbers
/// measured elsewhere: those were from another, contended machine).
public enum TrainingBenchmark {
    public static func run(
        unet: NetworkConfig, dit: NetworkConfig, batch: Int = 1000, log: (String) -> Void = { print($0) }
    ) throws {
        let v = try Basis.dct(fx: 3, fy: 5).vector(shape: unet.shape)
        let data = try SyntheticData.rankOne(direction: v, count: batch * 2, seed: 1)
        for (name, config) in [("U-Net 1x16x16", unet), ("DiT/2 1x16x16", dit)] {
            var trainer = try Trainer(
                network: ScoreNetwork(makeArchitecture(config), seed: 1), data: data, config: config,
                batchSize: batch, seed: 1)
            try trainer.trainStep()  // warm-up
            let start = Date()
            try trainer.trainStep()
            try trainer.trainStep()
            let seconds = Date().timeIntervalSince(start) / 2
            // Absolute time only: a comparison with PyTorch is valid only side by side, in one run
            // on the same machine (never against a number stored here).
            log(String(format: "train step, %@, batch %d: %.2f s", name, batch, seconds))
        }
        let net = ScoreNetwork(makeArchitecture(unet), seed: 1)
        let x = RandomStream(seed: 2, purpose: .test).normalTensor([batch] + unet.shape)
        _ = net.epsilon(x, timesteps: [Float](repeating: 500, count: batch))
        let start = Date()
        _ = net.epsilon(x, timesteps: [Float](repeating: 500, count: batch))
        _ = net.epsilon(x, timesteps: [Float](repeating: 499, count: batch))
        let sampling = Date().timeIntervalSince(start) / 2
        log(String(format: "sampling step (one network evaluation), U-Net 1x16x16, batch %d: %.3f s", batch, sampling))
        let a = RandomStream(seed: 3, purpose: .test).normalTensor([10_000, 256])
        let b = RandomStream(seed: 4, purpose: .test).normalTensor([10_000, 256])
        let p = SlicedWasserstein.randomProjections(count: 16_384, dimension: 256, seed: 5)
        let t0 = Date()
        _ = try SlicedWasserstein.compute(a, b, projections: p)
        log(
            String(
                format: "SW2 + MSW2, 10,000 × 256, 16,384 projections: %.2f s (goal ≤ 3 s)",
                Date().timeIntervalSince(t0)))
    }
}
