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

    /// ε̂(x, t) without recording any graph. x (N, C, H, W), t (N).
    public func epsilon(_ x: Tensor, timesteps: [Float]) -> Tensor {
        precondition(
            x.rank == 4 && Array(x.shape.dropFirst()) == architecture.inputShape && x.shape[0] == timesteps.count,
            "epsilon: input \(x.shape) with \(timesteps.count) timesteps for a network on \(architecture.inputShape)")
        return GradientMode.withoutGradients {
            architecture.forward(
                Variable(x), timesteps: timesteps,
                parameters: ParameterBindings(parameters, requiringGradients: false)
            ).value
        }
    }

    /// The DSM loss mean((ε̂(x_t, t) − target)²) and the gradient of every trainable parameter.
    public func lossAndGradients(
        xt: Tensor, timesteps: [Float], target: Tensor
    )
        -> (loss: Float, prediction: Tensor, gradients: [String: Tensor])
    {
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
