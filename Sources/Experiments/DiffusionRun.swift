import Datasets
import Diffusion
import Foundation
import Metrics
import Networks
import Tensors

/// What one train → sample → evaluate run measured: the unit result of every training recipe.
/// Metrics are nil where the model diverged (`failure` says why).
public struct TrainedModel: Codable, Equatable, Sendable {
    public var msw2: Double?
    public var sw2: Double?
    public var numProjections: Int?
    /// Mean training loss over the first and the last ten steps.
    public var lossFirst10: Double?
    public var lossLast10: Double?
    public var failure: String?
    /// The trivial samplers' scores on the same reference set and projections.
    public var baselines: BaselineScores?
    /// Wall times (never read by summaries).
    public var timing: Timing?

    public struct Timing: Codable, Equatable, Sendable {
        public var trainSeconds: Double
        public var sampleSeconds: Double
    }

    /// MSW₂ and SW₂ as numbers (NaN where missing), for aggregation.
    public var msw2Value: Double { msw2 ?? .nan }
    public var sw2Value: Double { sw2 ?? .nan }
}

/// The reference's train → sample → evaluate loop for one model (spec §2, §6), resumable
/// inside a unit: the trainer checkpoints into the unit's directory.
public enum DiffusionRun {
    public struct Outcome {
        public var metrics: SlicedWasserstein?
        /// Why metrics are missing (diverged samples), else nil.
        public var failure: String?
        /// The trivial samplers' scores on the same reference set and projections.
        public var baselines: BaselineScores?
        public var lossFirst: Double
        public var lossLast: Double
        public var samples: Tensor  // (N, C, H, W), in data space (Wᵀ applied)
        public var trainSeconds: Double
        public var sampleSeconds: Double

        /// The unit result of this run (timings apart from the numbers).
        public var result: TrainedModel {
            TrainedModel(
                msw2: metrics.flatMap { $0.msw2.isFinite ? $0.msw2 : nil },
                sw2: metrics.flatMap { $0.sw2.isFinite ? $0.sw2 : nil }, numProjections: metrics?.numProjections,
                lossFirst10: lossFirst.isFinite ? lossFirst : nil, lossLast10: lossLast.isFinite ? lossLast : nil,
                failure: failure, baselines: baselines,
                timing: TrainedModel.Timing(trainSeconds: trainSeconds, sampleSeconds: sampleSeconds))
        }
    }

    /// Trains on `train` (already in the model's space), samples `reference.shape[0]` images,
    /// maps them back with Wᵀ when a transform is given, and measures SW₂ / MSW₂ against
    /// `reference` (in data space).
    public static func trainAndEvaluate(
        config: NetworkConfig, train: Tensor, reference: Tensor, settings: TrainingSettings,
        seed: UInt64, transform: OrthogonalTransform? = nil, baseline: FittedLaw = .gaussian,
        checkpointDirectory: String? = nil, log: (String) -> Void = { _ in }
    ) throws -> Outcome {
        try trainAndEvaluate(
            architecture: ResolvedArchitecture(config: config), train: train, reference: reference,
            settings: settings, seed: seed, transform: transform, baseline: baseline,
            checkpointDirectory: checkpointDirectory, log: log)
    }

    /// The same loop for any architecture, native or imported. `baseline` is the law of the
    /// fitted trivial sampler scored beside the model (``BaselineScores``).
    public static func trainAndEvaluate(
        architecture: ResolvedArchitecture, train: Tensor, reference: Tensor, settings: TrainingSettings,
        seed: UInt64, transform: OrthogonalTransform? = nil, baseline: FittedLaw = .gaussian,
        checkpointDirectory: String? = nil, log: (String) -> Void = { _ in }
    ) throws -> Outcome {
        let start = Date()
        var trainer = try architecture.trainer(data: train, batchSize: settings.batchSize, seed: seed)
        let checkpoint = checkpointDirectory.map { "\($0)/checkpoint.safetensors" }
        if let dir = checkpointDirectory {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
        try trainer.run(to: settings.steps, checkpoint: checkpoint, policy: .everyFiveMinutes)
        let losses = trainer.losses.map(Double.init)
        let trained = Date()
        let sampler = AncestralSampler(schedule: architecture.schedule, steps: settings.samplingSteps)
        var metrics: SlicedWasserstein?
        var failure: String?
        var samples: Tensor
        do {
            samples = try sampler.sample(
                network: trainer.network, count: reference.shape[0], seed: seed, batchSize: 500)
        } catch let e as NonFiniteError {
            // A diverged model is a result (recorded as a failed unit), not an error.
            samples = Tensor(zeros: reference.shape)
            failure = "samples not finite (the model diverged): \(e)"
        }
        if let transform { samples = try transform.apply(samples, inverse: true) }
        let sampled = Date()
        let d = architecture.dimension
        let directions = SlicedWasserstein.Projections.random(count: settings.projections(dimension: d), seed: seed)
        if failure == nil {
            do {
                metrics = try SlicedWasserstein.compute(
                    samples.reshaped([samples.shape[0], d]), reference.reshaped([reference.shape[0], d]),
                    directions: directions
                ).0
            } catch {
                failure = "samples not finite (the model diverged): \(error)"
            }
        }
        // The baselines are fitted to the training set in data space (Wᵀ undoes the transform).
        let trainInData = try transform.map { try $0.apply(train, inverse: true) } ?? train
        let baselines = try baseline.scores(
            train: trainInData, reference: reference, directions: directions, seed: seed)
        if let checkpoint { try? FileManager.default.removeItem(atPath: checkpoint) }
        func mean(_ v: ArraySlice<Double>) -> Double { v.isEmpty ? .nan : v.reduce(0, +) / Double(v.count) }
        return Outcome(
            metrics: metrics, failure: failure, baselines: baselines, lossFirst: mean(losses.prefix(10)),
            lossLast: mean(losses.suffix(10)),
            samples: samples, trainSeconds: trained.timeIntervalSince(start),
            sampleSeconds: sampled.timeIntervalSince(trained))
    }
}
