import Foundation
import Formats
import Networks
import Tensors

/// DDPM training exactly as the reference loop (spec §2.5, §2.8): per step a batch from a
/// shuffled pass over the data (the last batch of a pass may be smaller), t uniform on
/// {0…T−1} per sample, ε ~ N(0, I), loss = mean (ε̂(x_t, t) − ε)², global-norm clipping,
/// Adam. Every random draw is keyed by (seed, purpose, step): pass e's order by
/// (.shuffle, e), step k's timesteps by (.timestep, k) and noise by (.noise, k) — so a
/// resumed run repeats exactly what an uninterrupted one does.
public struct Trainer {
    public var network: ScoreNetwork
    public var optimizer: Adam
    public let data: Tensor  // (N, C, H, W)
    public let schedule: NoiseSchedule
    public let batchSize: Int
    public let gradClip: Float
    public let seed: UInt64
    /// The micro-batch cut of each step's evaluation (nil: the architecture's default,
    /// ``MicroBatching/default(for:)``). The identity records the cut that applies to a full
    /// batch (field `micro_batch`, absent when none does): it sets the order of the gradient's
    /// sum over samples, so a checkpoint made with another cut is refused.
    public let microBatching: MicroBatching?
    /// Loss of every completed step.
    public private(set) var losses: [Float] = []
    /// Everything that determines this run's numbers: the caller's fields (data source,
    /// transform, init scheme, program version …) followed by the resolved config, batch size,
    /// seed and the SHA-256 of the training data. Stored in every checkpoint; ``restore(from:)``
    /// refuses a checkpoint of any other run, naming the first differing field.
    public let identity: RunIdentity

    /// A training run failed: NaN/Inf loss or gradients.
    public struct Diverged: Error, CustomStringConvertible {
        public let step: Int
        public let loss: Float
        public init(step: Int, loss: Float) {
            self.step = step
            self.loss = loss
        }
        public var description: String {
            "training diverged at step \(step): loss = \(loss) (lower the learning rate or check the data)"
        }
    }

    public init(
        network: ScoreNetwork, data: Tensor, config: NetworkConfig, batchSize: Int, seed: UInt64,
        identity callerFields: RunIdentity = RunIdentity(), microBatching: MicroBatching? = nil
    ) throws {
        try config.checkBatch(min(batchSize, max(data.shape.first ?? 1, 1)), training: true, setting: "batchSize")
        var id = callerFields
        for (k, v) in config.identityFields { id.add(k, v) }
        try self.init(
            network: network, data: data,
            schedule: NoiseSchedule(kind: config.linearSchedule ? .linear : .cosine, timesteps: config.timesteps),
            learningRate: Float(config.learningRate), gradClip: Float(config.gradClip), batchSize: batchSize,
            seed: seed, identity: id, microBatching: microBatching)
    }

    /// Training of any architecture (e.g. an imported network) with explicit settings. The
    /// caller checks the memory of a batch; `identity` must hold every field that defines the
    /// network (the architecture's hashes or config) — batch size, seed and data are added.
    public init(
        network: ScoreNetwork, data: Tensor, schedule: NoiseSchedule, learningRate: Float, gradClip: Float,
        batchSize: Int, seed: UInt64, identity callerFields: RunIdentity, microBatching: MicroBatching? = nil
    ) throws {
        let shape = network.architecture.inputShape
        guard data.rank == 4, Array(data.shape.dropFirst()) == shape, data.shape[0] >= 1 else {
            throw SettingError(
                setting: "data", expected: "(N, \(shape.map(String.init).joined(separator: ", ")))",
                found: "\(data.shape)")
        }
        try FiniteCheck.check(data.data, tensor: "training data", context: "training")
        try SettingError.check(batchSize, in: 1...1_000_000, "batchSize")
        guard learningRate.isFinite, learningRate > 0 else {
            throw SettingError(setting: "learningRate", expected: "a positive learning rate", found: "\(learningRate)")
        }
        guard gradClip.isFinite, gradClip > 0 else {
            throw SettingError(setting: "gradClip", expected: "a positive clipping norm", found: "\(gradClip)")
        }
        self.network = network
        self.data = data
        self.optimizer = Adam(learningRate: learningRate)
        self.schedule = schedule
        self.batchSize = batchSize
        self.gradClip = gradClip
        self.seed = seed
        self.microBatching = microBatching
        var id = callerFields
        id.add("batch_size", batchSize)
        id.add("seed", seed)
        id.add("data.shape", data.shape.map(String.init).joined(separator: "x"))
        id.add("data.sha256", SHA256.hex(raw: data.data))
        id.add("network.architecture", String(describing: type(of: network.architecture)))
        if let cut = network.resolvedCut(microBatching, batch: batchSize) { id.add("micro_batch", cut.samples) }
        identity = id
    }

    public var step: Int { optimizer.step }
    var batchesPerPass: Int { (data.shape[0] + batchSize - 1) / batchSize }

    /// The sample indices of step k's batch.
    func batchIndices(step k: Int) -> [Int] {
        let n = data.shape[0]
        let pass = k / batchesPerPass, b = k % batchesPerPass
        // Fisher–Yates with the pass's shuffle stream.
        let stream = RandomStream(seed: seed, purpose: .shuffle, index: UInt64(pass))
        var order = Array(0..<n)
        for i in stride(from: n - 1, to: 0, by: -1) {
            order.swapAt(i, stream.integer(below: i + 1, at: n - 1 - i))
        }
        return Array(order[(b * batchSize)..<min(n, (b + 1) * batchSize)])
    }

    /// Runs one optimiser step and returns its loss.
    @discardableResult
    public mutating func trainStep() throws -> Float {
        let k = optimizer.step
        let indices = batchIndices(step: k)
        let d = data.count / data.shape[0], m = indices.count
        var x0 = Tensor(zeros: [m] + Array(data.shape.dropFirst()))
        for (j, i) in indices.enumerated() { for q in 0..<d { x0.data[j * d + q] = data.data[i * d + q] } }
        let u = RandomStream(seed: seed, purpose: .timestep, index: UInt64(k)).uniforms(m)
        let t = u.map { min(schedule.timesteps - 1, Int(Double($0) * Double(schedule.timesteps))) }
        let noise = RandomStream(seed: seed, purpose: .noise, index: UInt64(k)).normalTensor(x0.shape)
        let batch = DSMBatch(schedule: schedule, x0: x0, noise: noise, timesteps: t)
        var (loss, _, gradients) = network.lossAndGradients(
            xt: batch.xt, timesteps: t.map { Float($0 * 1000 / schedule.timesteps) },
            target: batch.target, cut: microBatching)
        let norm = Adam.clipGradients(&gradients, maxNorm: gradClip)
        guard loss.isFinite, norm.isFinite else { throw Diverged(step: k, loss: loss) }
        var values = network.parameters.values
        var next = optimizer
        next.update(&values, gradients: gradients)
        // A finite loss can still give an update that overflows: nothing non-finite is kept.
        for name in gradients.keys.sorted() {
            try FiniteCheck.check(
                values[name]!.data, tensor: name, context: "training step \(k) (after the Adam update)",
                advice: "lower the learning rate")
        }
        optimizer = next
        for (name, value) in values where gradients[name] != nil { network.parameters.set(name, value) }
        losses.append(loss)
        return loss
    }

    // MARK: - Checkpoints

    /// Parameters (reference names, loadable by PyTorch), Adam moments and the step, atomically.
    public func save(to path: String) throws {
        var arrays = network.parameters.namedArrays()
        for name in optimizer.m.keys.sorted() {
            arrays.append(("adam.m." + name, NDArray(optimizer.m[name]!)))
            arrays.append(("adam.v." + name, NDArray(optimizer.v[name]!)))
        }
        arrays.append(("train.losses", NDArray(shape: [losses.count], float32: losses)))
        try SafeTensors.write(
            arrays,
            metadata: [
                "step": "\(optimizer.step)", "seed": "\(seed)", "batch_size": "\(batchSize)",
                "format": "sad-train-2", "identity": identity.json,
            ], to: path)
    }

    /// Restores a checkpoint written by ``save(to:)`` for the same run.
    public mutating func restore(from path: String) throws {
        let file = try SafeTensors.read(path)
        guard file.metadata["format"] == "sad-train-2" else {
            throw FormatError(
                file: path, field: "__metadata__.format", expected: "sad-train-2 (a sad training checkpoint)",
                found: file.metadata["format"].map { "'\($0.prefix(40))'" } ?? "none")
        }
        try identity.require(
            matches: try RunIdentity.parse(file.metadata["identity"], file: path, field: "__metadata__.identity"),
            file: path, action: "resume training")
        // Every field read back is untrusted: the step sizes the loss history and the stream keys.
        guard let stepText = file.metadata["step"], let step = Int(stepText), step >= 0, step <= 1_000_000_000 else {
            throw FormatError(
                file: path, field: "__metadata__.step", expected: "an integer in 0…10⁹",
                found: "'\((file.metadata["step"] ?? "none").prefix(40))'")
        }
        var restored = network
        try restored.parameters.load(from: file)
        var m: [String: Tensor] = [:], v: [String: Tensor] = [:]
        for spec in network.parameters.specs where spec.trainable && step > 0 {
            let mt = try file.tensor("adam.m." + spec.name, shape: spec.shape)
            let vt = try file.tensor("adam.v." + spec.name, shape: spec.shape)
            try FormatError.requireFinite(mt.data, file: path, field: "adam.m." + spec.name)
            try FormatError.requireFinite(vt.data, file: path, field: "adam.v." + spec.name)
            if let bad = vt.data.firstIndex(where: { $0 < 0 }) {
                throw FormatError(
                    file: path, field: "adam.v." + spec.name, expected: "non-negative second moments",
                    found: "\(vt.data[bad]) at element \(bad)")
            }
            m[spec.name] = mt
            v[spec.name] = vt
        }
        let history = try file.tensor("train.losses")
        guard history.rank == 1, history.count == step else {
            throw FormatError(
                file: path, field: "train.losses", expected: "\(step) losses (one per step)",
                found: "shape \(history.shape)")
        }
        try FormatError.requireFinite(history.data, file: path, field: "train.losses")
        network = restored
        optimizer = Adam(learningRate: optimizer.learningRate, step: step, m: m, v: v)
        losses = history.data
    }
}
