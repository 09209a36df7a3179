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
    /// A network to time one training step of, at its batch size.
    public struct Case {
        public var name: String
        public var config: NetworkConfig
        public var batch: Int
        public init(name: String, config: NetworkConfig, batch: Int) {
            self.name = name
            self.config = config
            self.batch = batch
        }
    }

    /// Median, min and max over `repetitions` timed runs after one warm-up.
    static func timed(_ repetitions: Int, _ body: () throws -> Void) rethrows -> (Double, Double, Double) {
        try body()
        var times: [Double] = []
        for _ in 0..<repetitions {
            let start = Date()
            try body()
            times.append(Date().timeIntervalSince(start))
        }
        times.sort()
        let mid = times.count / 2
        let median = times.count % 2 == 1 ? times[mid] : (times[mid - 1] + times[mid]) / 2
        return (median, times.first!, times.last!)
    }

    /// Train steps of every case, the sampling step (one evaluation at batch 1000) of `sampling`,
    /// and the metric, as absolute times: medians (min–max) of `repetitions` runs. A comparison
    /// with PyTorch is valid only side by side, in one session on the same machine
    /// (Benchmarks/pytorch/side-by-side.sh), never against a number stored here.
    public static func run(
        cases: [Case], sampling: NetworkConfig, repetitions: Int = 5, microBatching: MicroBatching? = nil,
        log: (String) -> Void = { print($0) }
    ) throws {
        for c in cases {
            let v = try Basis.dct(fx: 1, fy: 2).vector(shape: c.config.shape)
            let data = try SyntheticData.rankOne(direction: v, count: c.batch * 2, seed: 1)
            var trainer = try Trainer(
                network: ScoreNetwork(makeArchitecture(c.config), seed: 1), data: data, config: c.config,
                batchSize: c.batch, seed: 1, microBatching: microBatching)
            let (median, low, high) = try timed(repetitions) { try trainer.trainStep() }
            log(String(format: "train step, %@, batch %d: %.3f s (%.3f–%.3f)", c.name, c.batch, median, low, high))
        }
        let net = ScoreNetwork(makeArchitecture(sampling), seed: 1)
        let x = RandomStream(seed: 2, purpose: .test).normalTensor([1000] + sampling.shape)
        let (median, low, high) = timed(repetitions) {
            _ = net.epsilon(x, timesteps: [Float](repeating: 500, count: 1000), cut: microBatching)
        }
        log(
            String(
                format: "sampling step (one network evaluation), U-Net 1x16x16, batch 1000: %.3f s (%.3f–%.3f)",
                median, low, high))
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
