import Formats
import Tensors

/// An architecture that predicts ε̂(x_t, t): parameter declarations plus a forward pass
/// written once against ``ParameterBindings`` (differentiable when the bindings require
/// gradients, graph-free otherwise).
public protocol ScoreArchitecture: Sendable {
    /// (C, H, W).
    var inputShape: [Int] { get }
    /// Parameters in reference `state_dict` order with their reference initialisers.
    func parameterSpecs(scheme: InitScheme) -> [ParameterSpec]
    /// ε̂ for x (N, C, H, W) at float timesteps t (N): the network sees t·1000/T, which
    /// is t itself for T = 1000.
    func forward(_ x: Variable, timesteps: [Float], parameters p: ParameterBindings) -> Variable
    /// Whether ε̂ of each sample depends on that sample alone (no op mixes samples), so that a
    /// batch may run in micro-batches (``MicroBatching``). False by default: an imported graph
    /// may reshape across the batch.
    var samplesAreIndependent: Bool { get }
}

/// An architecture with concrete parameter values.
public struct ScoreNetwork: Sendable {
    public let architecture: any ScoreArchitecture
    public var parameters: ParameterSet

    /// A freshly initialised network number `networkIndex` of the family (seed, scheme).
    public init(
        _ architecture: any ScoreArchitecture, seed: UInt64, networkIndex: UInt64 = 0, scheme: InitScheme = .reference
    ) {
        self.architecture = architecture
        self.parameters = ParameterSet(
            specs: architecture.parameterSpecs(scheme: scheme), seed: seed,
            networkIndex: networkIndex, scheme: scheme)
    }

    /// A network with the given parameter values (their specs must be the architecture's).
    public init(_ architecture: any ScoreArchitecture, parameters: ParameterSet) {
        self.architecture = architecture
        self.parameters = parameters
    }

    /// A network with parameters loaded from a checkpoint (reference names).
    public init(_ architecture: any ScoreArchitecture, checkpoint: SafeTensors.File) throws {
        self.architecture = architecture
        var p = ParameterSet(specs: architecture.parameterSpecs(scheme: .reference), seed: 0, networkIndex: 0)
        try p.load(from: checkpoint)
        self.parameters = p
    }

    /// ε̂(x, t) without recording any graph. x (N, C, H, W), t (N). A batch larger than the
    /// architecture's ``MicroBatching/default(for:)`` cut runs in micro-batches (the same
    /// outputs up to float32 rounding) when its samples are independent; `cut` overrides the default
    /// (``MicroBatching/wholeBatch``: every op over the whole batch at once).
    public func epsilon(_ x: Tensor, timesteps: [Float], cut: MicroBatching? = nil) -> Tensor {
        precondition(
            x.rank == 4 && Array(x.shape.dropFirst()) == architecture.inputShape && x.shape[0] == timesteps.count,
            "epsilon: input \(x.shape) with \(timesteps.count) timesteps for a network on \(architecture.inputShape)")
        if let cut = resolvedCut(cut, batch: x.shape[0]) {
            return epsilonMicroBatched(x, timesteps: timesteps, cut: cut)
        }
        return epsilonWholeBatch(x, timesteps: timesteps)
    }

    /// The cut a call on a batch of `batch` samples uses, or nil for the whole batch at once:
    /// the caller's `requested` cut, else the architecture's default; nil when the batch fits
    /// in one micro-batch (then the arithmetic is the whole batch's), and always nil for an
    /// architecture whose samples are not known to be independent (an imported graph may mix
    /// them, and micro-batches would then change what it computes).
    public func resolvedCut(_ requested: MicroBatching?, batch: Int) -> MicroBatching? {
        guard architecture.samplesAreIndependent else { return nil }
        let cut = requested ?? .default(for: architecture)
        return batch > cut.samples ? cut : nil
    }

    /// ε̂ of the whole batch in one pass of each op.
    func epsilonWholeBatch(_ x: Tensor, timesteps: [Float]) -> Tensor {
        GradientMode.withoutGradients {
            architecture.forward(
                Variable(x), timesteps: timesteps,
                parameters: ParameterBindings(parameters, requiringGradients: false)
            ).value
        }
    }

    /// The DSM loss mean((ε̂(x_t, t) − target)²) and the gradient of every trainable parameter.
    /// Micro-batched like ``epsilon(_:timesteps:cut:)``: the gradients then equal the
    /// whole-batch ones up to the order of the sum over samples.
    public func lossAndGradients(
        xt: Tensor, timesteps: [Float], target: Tensor, cut: MicroBatching? = nil
    )
        -> (loss: Float, prediction: Tensor, gradients: [String: Tensor])
    {
        if let cut = resolvedCut(cut, batch: xt.shape[0]) {
            return lossAndGradientsMicroBatched(xt: xt, timesteps: timesteps, target: target, cut: cut)
        }
        let bindings = ParameterBindings(parameters, requiringGradients: true)
        let prediction = architecture.forward(Variable(xt), timesteps: timesteps, parameters: bindings)
        let loss = mse(prediction, Variable(target))
        loss.backward()
        return (loss.value.scalarValue, prediction.value, bindings.gradients(parameters))
    }
}

/// Builds the architecture a config describes.
public func makeArchitecture(_ config: NetworkConfig) -> any ScoreArchitecture {
    switch config.model {
    case let .unet(u): return UNet(config: u, shape: config.shape)
    case let .dit(d): return DiT(config: d, shape: config.shape)
    case let .mlp(m): return MLPScoreNetwork(config: m, shape: config.shape)
    case let .linear(l): return LinearScoreModel(config: l, shape: config.shape)
    }
}
