import Tensors

/// The DiT of the reference (timm-based `utils/dit.py`, spec §4): patch embedding (conv
/// p×p stride p), fixed 2-D sin-cos positions, timestep embedder (256 frequencies → MLP),
/// adaLN-Zero blocks, final layer (adaLN shift/scale, LN, Linear → p²C), unpatchify.
///
/// Reference initialisation: xavier-uniform Linear weights and zero biases; the patch
/// conv xavier on its (E, C·p²) view; timestep MLP weights N(0, 0.02²); every adaLN
/// modulation zero; the final linear weight **not** zeroed (unlike stock DiT). At that init
/// every block is the identity and ε̂ = W·LN(PatchEmbed(x) + pos) per token, independent
/// of t. `zero-init` also zeroes the final linear weight (stock DiT: ε̂ ≡ 0).
public struct DiT: ScoreArchitecture {
    public let config: DiTConfig
    public let inputShape: [Int]
    /// Every op is per sample (GroupNorm, attention within an image, the time embedding).
    public var samplesAreIndependent: Bool { true }

    public init(config: DiTConfig, shape: [Int]) {
        self.config = config
        self.inputShape = shape
    }

    public var gridSize: Int { inputShape[1] / config.patchSize }
    public var tokens: Int { gridSize * gridSize }
    public var patchFeatures: Int { config.patchSize * config.patchSize * inputShape[0] }
    static let frequencyDim = 256

    var blocks: [DiTBlock] {
        (0..<config.depth).map {
            DiTBlock(
                prefix: "model.blocks.\($0)", hidden: config.hiddenSize, heads: config.numHeads,
                mlpHidden: config.mlpHidden)
        }
    }

    public func parameterSpecs(scheme: InitScheme) -> [ParameterSpec] {
        let e = config.hiddenSize, c = inputShape[0], p = config.patchSize
        var specs: [ParameterSpec] = [
            ParameterSpec(
                "model.x_embedder.proj.weight", [e, c, p, p], .xavierUniform(fanIn: c * p * p, fanOut: e),
                role: .convolutionKernel),
            ParameterSpec("model.x_embedder.proj.bias", [e], .zeros, role: .bias),
            ParameterSpec(
                "model.t_embedder.mlp.0.weight", [e, Self.frequencyDim], .normal(std: 0.02), role: .linearWeight),
            ParameterSpec("model.t_embedder.mlp.0.bias", [e], .zeros, role: .bias),
            ParameterSpec("model.t_embedder.mlp.2.weight", [e, e], .normal(std: 0.02), role: .linearWeight),
            ParameterSpec("model.t_embedder.mlp.2.bias", [e], .zeros, role: .bias),
        ]
        for block in blocks { specs += block.specs() }
        specs += [
            ParameterSpec(
                "model.final_layer.linear.weight", [patchFeatures, e],
                scheme == .zeroInit ? .zeros : .xavierUniform(fanIn: e, fanOut: patchFeatures), role: .linearWeight),
            ParameterSpec("model.final_layer.linear.bias", [patchFeatures], .zeros, role: .bias),
            ParameterSpec("model.final_layer.adaLN_modulation.1.weight", [2 * e, e], .zeros, role: .linearWeight),
            ParameterSpec("model.final_layer.adaLN_modulation.1.bias", [2 * e], .zeros, role: .bias),
        ]
        // state_dict order: pos_embed is registered first in timm's DiT.
        let pos = ParameterSpec(
            "model.pos_embed", [1, tokens, e],
            .fixed(PositionalEmbedding.table(gridSize: gridSize, dim: e).reshaped([1, tokens, e])),
            role: .buffer, trainable: false)
        return [pos] + specs
    }

    public func forward(_ x: Variable, timesteps: [Float], parameters p: ParameterBindings) -> Variable {
        let n = x.shape[0], ps = config.patchSize, g = gridSize, c = inputShape[0]
        // (N, T, p²C)
        let patches = p.linear(tokenFeatures(x, timesteps: timesteps, parameters: p), "model.final_layer.linear")
        // Unpatchify: (N, G, G, p, p, C) → (N, C, G, p, G, p) → (N, C, H, W).
        return patches.reshaped([n, g, g, ps, ps, c]).permuted([0, 5, 1, 3, 2, 4]).reshaped([n, c, g * ps, g * ps])
    }

    /// Pixel index (c, i·p + a, j·p + b) of feature (a·p + b)·C + c of token m = i·G + j:
    /// the unpatchify permutation.
    public func pixelIndex(token m: Int, feature f: Int) -> Int {
        let ps = config.patchSize, g = gridSize, c = inputShape[0], h = g * ps
        let i = m / g, j = m % g
        let channel = f % c, ab = f / c, a = ab / ps, b = ab % ps
        return (channel * h + i * ps + a) * h + j * ps + b
    }

    /// The input of the final linear: LN(x)(1 + scale) + shift, (N, T, E). ε̂ is a per-token
    /// Linear(E → p²C) of it followed by unpatchify.
    public func tokenFeatures(_ x: Variable, timesteps: [Float], parameters p: ParameterBindings) -> Variable {
        let n = x.shape[0], e = config.hiddenSize, ps = config.patchSize
        var h = p.conv(x, "model.x_embedder.proj", stride: ps)  // (N, E, G, G)
            .reshaped([n, e, tokens]).permuted([0, 2, 1])  // (N, T, E)
        h = h + p["model.pos_embed"]
        let tFreq = Variable(TimestepEmbedding.embed(timesteps, dim: Self.frequencyDim))  // (N, 256)
        let cond = p.linear(p.linear(tFreq, "model.t_embedder.mlp.0").silu(), "model.t_embedder.mlp.2")  // (N, E)
        for block in blocks { h = block.forward(h, c: cond, p) }
        let mod = p.linear(cond.silu(), "model.final_layer.adaLN_modulation.1").split([e, e], axis: 1)
            .map { $0.reshaped([n, 1, e]) }  // shift, scale
        return layerNorm(h, eps: 1e-6) * (mod[1] + Variable(Tensor(scalar: 1))) + mod[0]
    }
}
