import Diffusion
import Formats
import Interop
import Networks
import Tensors

/// What a recipe needs of an architecture, native or imported: the network family, its
/// shape, the training settings and the fields that identify it.
public struct ResolvedArchitecture {
    public let architecture: any ScoreArchitecture
    /// The native config (nil for an imported network).
    public let config: NetworkConfig?
    public let imported: ImportedNetwork?
    public let schedule: NoiseSchedule
    public let learningRate: Float
    public let gradClip: Float

    public var shape: [Int] { architecture.inputShape }
    public var dimension: Int { shape.reduce(1, *) }

    init(config: NetworkConfig) {
        architecture = makeArchitecture(config)
        self.config = config
        imported = nil
        schedule = NoiseSchedule(kind: config.linearSchedule ? .linear : .cosine, timesteps: config.timesteps)
        learningRate = Float(config.learningRate)
        gradClip = Float(config.gradClip)
    }

    /// An imported network trains with the reference's settings: Adam 1e-4, clip 1, linear T = 1000.
    init(imported net: ImportedNetwork) {
        architecture = net
        config = nil
        imported = net
        schedule = NoiseSchedule(kind: .linear, timesteps: 1000)
        learningRate = 1e-4
        gradClip = 1
    }

    /// A trainer for a fresh network (seed) of this architecture on `data`.
    func trainer(data: Tensor, batchSize: Int, seed: UInt64) throws -> Trainer {
        if let config {
            return try Trainer(
                network: ScoreNetwork(architecture, seed: seed), data: data, config: config, batchSize: batchSize,
                seed: seed)
        }
        var id = RunIdentity()
        for (k, v) in imported!.identityFields { id.add(k, v) }
        try imported!.checkBatch(min(batchSize, data.shape[0]), training: true, setting: "batchSize")
        return try Trainer(
            network: ScoreNetwork(architecture, seed: seed), data: data, schedule: schedule,
            learningRate: learningRate, gradClip: gradClip, batchSize: batchSize, seed: seed, identity: id)
    }
}
