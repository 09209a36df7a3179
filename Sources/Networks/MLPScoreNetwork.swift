import Tensors

/// A fully connected score network (not in the reference code; the paper's Proposition 1):
/// ε̂(x, t) = W_L·SiLU(…SiLU(W_1·[x; emb(t)] + b_1)…) + b_L on the flattened image, with
/// the sinusoidal timestep embedding (cos first) concatenated to the input. PyTorch default
/// initialisation (U(±1/√fan_in)) for every layer. Parameters: `model.layers.{i}.weight/bias`.
public struct MLPScoreNetwork: ScoreArchitecture {
    public let config: MLPConfig
    public let inputShape: [Int]

    public init(config: MLPConfig, shape: [Int]) {
        self.config = config
        self.inputShape = shape
    }

    var dimension: Int { inputShape.reduce(1, *) }
    var widths: [Int] { [dimension + config.timeEmbeddingDim] + config.hidden + [dimension] }

    public func parameterSpecs(scheme: InitScheme) -> [ParameterSpec] {
        var specs: [ParameterSpec] = []
        for i in 0..<(widths.count - 1) {
            specs += LayerSpecs.linear("model.layers.\(i)", out: widths[i + 1], in: widths[i])
        }
        if scheme == .zeroInit {
            let last = widths.count - 2
            for j in specs.indices where specs[j].name.hasPrefix("model.layers.\(last).") {
                specs[j].initializer = .zeros
            }
        }
        return specs
    }

    public func forward(_ x: Variable, timesteps: [Float], parameters p: ParameterBindings) -> Variable {
        let n = x.shape[0]
        var h = x.reshaped([n, dimension])
        if config.timeEmbeddingDim > 0 {
            h = concat([h, Variable(TimestepEmbedding.embed(timesteps, dim: config.timeEmbeddingDim))], axis: 1)
        }
        let layers = widths.count - 1
        for i in 0..<layers {
            h = p.linear(h, "model.layers.\(i)")
            if i < layers - 1 { h = h.silu() }
        }
        return h.reshaped([n] + inputShape)
    }
}

/// The linear score model of Theorem 1: ε̂(x) = Ω·x with Ω = ΦΘ, Φ (D, K) fixed (a frozen
/// buffer `model.phi`, N(0, 1/K) by default or loaded from a checkpoint) and Θ (K, D)
/// trainable (`model.theta`, N(0, std²), zero mean as the theorem assumes). Ignores t.
/// The geometry of this family is E[Ω x xᵀ Ωᵀ]; with x = 0 it vanishes, so probe it with
/// Gaussian or data inputs.
public struct LinearScoreModel: ScoreArchitecture {
    public let config: LinearModelConfig
    public let inputShape: [Int]

    public init(config: LinearModelConfig, shape: [Int]) {
        self.config = config
        self.inputShape = shape
    }

    var dimension: Int { inputShape.reduce(1, *) }

    public func parameterSpecs(scheme: InitScheme) -> [ParameterSpec] {
        let k = config.features, d = dimension
        return [
            ParameterSpec(
                "model.phi", [d, k], .normal(std: 1 / Float(k).squareRoot()), role: .buffer, trainable: false),
            ParameterSpec(
                "model.theta", [k, d], scheme == .zeroInit ? .zeros : .normal(std: config.thetaStd), role: .linearWeight
            ),
        ]
    }

    public func forward(_ x: Variable, timesteps: [Float], parameters p: ParameterBindings) -> Variable {
        let n = x.shape[0]
        let flat = x.reshaped([n, dimension])  // (N, D)
        let hidden = Tensors.linear(flat, weight: p["model.theta"], bias: nil)  // (N, K) = x Θᵀ
        let out = Tensors.linear(hidden, weight: p["model.phi"], bias: nil)  // (N, D) = Θx then Φ·
        return out.reshaped([n] + inputShape)
    }
}
