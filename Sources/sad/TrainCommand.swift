import ArgumentParser
import Datasets
import Diffusion
import Formats
import Foundation
import Interop
import Networks

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a DDPM (ε-prediction, Adam, clipping) as the reference; resumable.",
        discussion: """
            Rerunning with the same --out resumes from out/checkpoint.safetensors and ends identically. \
            With --onnx the imported network starts from a fresh draw of its inferred initialisation (--seed) \
            and trains with --learning-rate and --grad-clip on the reference's linear schedule, T = 1000.
            """)

    @OptionGroup var network: NetworkOptions
    @OptionGroup var onnx: ONNXOptions
    @OptionGroup var threadOptions: ThreadOptions

    @Option(help: "Adam learning rate for --onnx networks (a config sets its own).")
    var learningRate: Double?

    @Option(help: "Global gradient-norm clip for --onnx networks (a config sets its own).")
    var gradClip: Double?

    @Option(help: "PATH.npy, rank-one:FAMILY:A:B, or rank-one:sad:VECS.npy:INDEX.")
    var data: String

    @Option(help: "Samples drawn for synthetic data.")
    var numSamples = 10_000

    @Option(help: "Optimiser steps.")
    var steps: Int

    @Option(help: "Batch size.")
    var batchSize = 1000

    @Option(help: "Seed (network init, data, shuffling, timesteps, noise).")
    var seed: UInt64 = 0

    @Option(help: "Steps between checkpoints.")
    var checkpointEvery = 100

    @Option(help: "Orthogonal W (.npy, D×D): train on W·x (alignment experiments).")
    var transform: String?

    @Option(
        help: ArgumentHelp(
            "Samples per micro-batch of each step (0: every op over the whole batch, the 0.2.0 arithmetic; default: "
                + "64 for the U-Net and DiT, none for imported networks).", valueName: "n"))
    var microBatch: Int?

    @Option(help: "Output directory.")
    var out: String

    func validate() throws {
        if let microBatch { try Check.range(microBatch, 0...Check.maxBatch, "--micro-batch") }
        try Check.range(numSamples, 1...Check.maxCount, "--num-samples")
        try Check.range(steps, 1...Check.maxCount, "--steps")
        try Check.range(batchSize, 1...Check.maxBatch, "--batch-size")
        try Check.range(checkpointEvery, 1...Check.maxCount, "--checkpoint-every")
        guard onnx.isGiven != (network.config != nil) else { throw ValidationError("give either --config or --onnx") }
        guard !onnx.isGiven || (microBatch ?? 0) == 0 else {
            throw ValidationError(
                "--micro-batch: an imported network runs every op over the whole batch (its graph may mix samples); "
                    + "expected 0 or no value, found \(microBatch!)")
        }
        if let learningRate { try Check.range(learningRate, 1e-8...1, "--learning-rate") }
        if let gradClip { try Check.range(gradClip, 1e-6...1e6, "--grad-clip") }
        guard onnx.isGiven || (learningRate == nil && gradClip == nil) else {
            throw ValidationError("--learning-rate and --grad-clip apply to --onnx networks (a config sets its own)")
        }
    }

    func run() throws {
        try threadOptions.apply()
        let imported = onnx.isGiven ? try onnx.load() : nil
        let config = imported == nil ? try network.load() : nil
        let shape = imported?.inputShape ?? config!.shape
        let source = try DataSource.parse(data)
        var x = try source.load(shape: shape, count: numSamples, seed: seed)
        var identity = RunIdentity()
        identity.add("program", "sad \(sadVersion)")
        identity.add("data", data)
        identity.add("num_samples", source.isSynthetic ? "\(numSamples)" : "(all of the file)")
        identity.add("init_scheme", network.initScheme.rawValue)
        if let transform {
            let w = try OrthogonalTransform.load(transform)
            identity.add("transform.sha256", SHA256.hex(raw: w.matrix.data))
            x = try w.apply(x)
        } else {
            identity.add("transform.sha256", "none")
        }
        var trainer: Trainer
        if let imported {
            for (k, v) in imported.identityFields { identity.add(k, v) }
            let lr = learningRate ?? 1e-4, clip = gradClip ?? 1
            identity.add("learning_rate", lr)
            identity.add("grad_clip", clip)
            try imported.checkBatch(min(batchSize, x.shape[0]), training: true, setting: "batchSize")
            trainer = try Trainer(
                network: ScoreNetwork(imported, seed: seed), data: x,
                schedule: NoiseSchedule(kind: .linear, timesteps: 1000), learningRate: Float(lr),
                gradClip: Float(clip), batchSize: batchSize, seed: seed, identity: identity,
                microBatching: microBatch.map(MicroBatching.option))
        } else {
            trainer = try Trainer(
                network: ScoreNetwork(makeArchitecture(config!), seed: seed, scheme: network.initScheme),
                data: x, config: config!, batchSize: batchSize, seed: seed, identity: identity,
                microBatching: microBatch.map(MicroBatching.option))
        }
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        AtomicFile.removeStaleTemporaries(in: out)
        let checkpoint = "\(out)/checkpoint.safetensors"
        let progress = ProgressLine(label: "train")
        let start = Date()
        let resumedAt = try trainer.run(
            to: steps, checkpoint: checkpoint, policy: CheckpointPolicy(steps: checkpointEvery)
        ) { step, loss, saved in
            progress.update(step, steps)
            if saved && !progress.enabled { print("step \(step): loss \(loss)") }
        }
        progress.finish()
        if resumedAt > 0 { print("resumed at step \(resumedAt)") }
        try SafeTensors.write(
            trainer.network.parameters.namedArrays(),
            metadata: ["config": config?.summary ?? "onnx:" + (imported?.files.joined(separator: ",") ?? "")],
            to: "\(out)/model.safetensors")
        let losses = trainer.losses
        print(
            String(
                format: "trained %d steps in %.1f s; loss first 10 %.4f, last 10 %.4f", steps,
                Date().timeIntervalSince(start),
                losses.prefix(10).reduce(0, +) / Float(min(10, losses.count)),
                losses.suffix(10).reduce(0, +) / Float(min(10, losses.count))))
    }
}

struct Sample: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ancestral DDPM sampling (reference: 1000 steps, posterior variance, no clipping).")

    @OptionGroup var network: NetworkOptions
    @OptionGroup var onnx: ONNXOptions
    @OptionGroup var threadOptions: ThreadOptions

    @Option(help: "Weights (reference names; for --onnx the initializer names, e.g. a `sad train --onnx` model).")
    var checkpoint: String

    @Option(help: "Number of samples.")
    var count = 10_000

    @Option(help: "Sampling steps (T = all; fewer uses the reference's strided integer times).")
    var steps = 1000

    @Option(help: "Batch size.")
    var batchSize = 1000

    @Option(help: "Seed of the sampling noise.")
    var seed: UInt64 = 0

    @Option(help: "Orthogonal W (.npy) the model was trained with: samples are mapped back with Wᵀ.")
    var transform: String?

    @Option(help: "Output .npy (N, C, H, W).")
    var out: String

    func validate() throws {
        try Check.range(count, 1...Check.maxCount, "--count")
        try Check.range(batchSize, 1...Check.maxBatch, "--batch-size")
        try Check.range(steps, 2...100_000, "--steps")
        guard onnx.isGiven != (network.config != nil) else { throw ValidationError("give either --config or --onnx") }
    }

    func run() throws {
        try threadOptions.apply()
        let net: ScoreNetwork
        let schedule: NoiseSchedule
        if onnx.isGiven {
            let imported = try onnx.load(inferInitialisation: false)
            try imported.checkBatch(min(batchSize, count), training: false, setting: "batchSize")
            net = try ScoreNetwork(imported, checkpoint: try SafeTensors.read(checkpoint))
            schedule = NoiseSchedule(kind: .linear, timesteps: 1000)
        } else {
            let config = try network.load()
            try config.checkBatch(min(batchSize, count), training: false, setting: "batchSize")
            net = try ScoreNetwork(makeArchitecture(config), checkpoint: try SafeTensors.read(checkpoint))
            schedule = NoiseSchedule(kind: config.linearSchedule ? .linear : .cosine, timesteps: config.timesteps)
        }
        guard steps >= 2 && steps <= schedule.timesteps else {
            throw ValidationError("--steps: expected 2…\(schedule.timesteps), found \(steps)")
        }
        let sampler = AncestralSampler(schedule: schedule, steps: steps)
        var x = try sampler.sample(network: net, count: count, seed: seed, batchSize: batchSize)
        if let transform { x = try OrthogonalTransform.load(transform).apply(x, inverse: true) }
        try Npy.write(x, to: out)
        print("wrote \(count) samples to \(out)")
    }
}
