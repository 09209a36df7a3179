import Tensors

/// The iDDPM U-Net exactly as the reference configures it (spec §3): time embedding
/// (32 → 128, cos first), input blocks [conv_in, (ResBlock ×k, Downsample) per level],
/// middle [ResBlock, AttentionBlock, ResBlock], output blocks [(concat[h, skip] → ResBlock)
/// ×(k+1), Upsample after the last of each level but the finest], head GN → SiLU → Conv.
/// No zero initialisation in the reference scheme: PyTorch defaults everywhere. Levels with
/// `is_attn` set get an AttentionBlock after each ResBlock (iDDPM's `attention_resolutions`,
/// named `….1` in the block; the Upsample then moves to `….2`).
public struct UNet: ScoreArchitecture {
    public let config: UNetConfig
    public let inputShape: [Int]
    /// Every op is per sample (GroupNorm, attention within an image, the time embedding).
    public var samplesAreIndependent: Bool { true }

    enum Layer {
        case convIn, res(ResBlock), down(Downsample), up(Upsample2x), attention(AttentionBlock)
    }

    /// input_blocks[i] and output_blocks[i] are sequences of layers, as nn.Sequential.
    let inputBlocks: [[Layer]]
    let middle: [Layer]
    let outputBlocks: [[Layer]]
    let embeddingDim: Int

    public init(config: UNetConfig, shape: [Int]) {
        self.config = config
        self.inputShape = shape
        let base = config.baseChannels
        let emb = 4 * base
        embeddingDim = emb
        var inputs: [[Layer]] = [[.convIn]]
        var skipChannels = [base]
        var ch = base
        let mults = config.levelMults
        for (level, mult) in mults.enumerated() {
            for _ in 0..<config.resBlocksPerLevel {
                let out = mult * base
                let prefix = "model.input_blocks.\(inputs.count)"
                var layers: [Layer] = [
                    .res(ResBlock(prefix: prefix + ".0", inChannels: ch, outChannels: out, embeddingDim: emb))
                ]
                if config.attends(level: level) {
                    layers.append(
                        .attention(AttentionBlock(prefix: prefix + ".1", channels: out, heads: config.numHeads)))
                }
                inputs.append(layers)
                ch = out
                skipChannels.append(ch)
            }
            if level != mults.count - 1 {
                inputs.append([
                    .down(
                        Downsample(
                            prefix: "model.input_blocks.\(inputs.count).0", channels: ch,
                            interpolation: config.interpolation))
                ])
                skipChannels.append(ch)
            }
        }
        middle = [
            .res(ResBlock(prefix: "model.middle_block.0", inChannels: ch, outChannels: ch, embeddingDim: emb)),
            .attention(AttentionBlock(prefix: "model.middle_block.1", channels: ch, heads: config.numHeads)),
            .res(ResBlock(prefix: "model.middle_block.2", inChannels: ch, outChannels: ch, embeddingDim: emb)),
        ]
        var outputs: [[Layer]] = []
        for (level, mult) in mults.enumerated().reversed() {
            for i in 0...config.resBlocksPerLevel {
                let skip = skipChannels.removeLast()
                let out = mult * base
                let prefix = "model.output_blocks.\(outputs.count)"
                var layers: [Layer] = [
                    .res(ResBlock(prefix: prefix + ".0", inChannels: ch + skip, outChannels: out, embeddingDim: emb))
                ]
                ch = out
                if config.attends(level: level) {
                    layers.append(
                        .attention(AttentionBlock(prefix: prefix + ".1", channels: ch, heads: config.numHeads)))
                }
                if level > 0 && i == config.resBlocksPerLevel {
                    layers.append(.up(Upsample2x(prefix: prefix + ".\(layers.count)", channels: ch)))
                }
                outputs.append(layers)
            }
        }
        inputBlocks = inputs
        outputBlocks = outputs
    }

    public func parameterSpecs(scheme: InitScheme) -> [ParameterSpec] {
        let base = config.baseChannels, c = inputShape[0]
        var specs =
            LayerSpecs.linear("model.time_embed.0", out: embeddingDim, in: base)
            + LayerSpecs.linear("model.time_embed.2", out: embeddingDim, in: embeddingDim)
        var zeroNames: [String] = []
        func add(_ layer: Layer) {
            switch layer {
            case .convIn: specs += LayerSpecs.conv("model.input_blocks.0.0", out: base, in: c, kernel: 3)
            case let .res(r): specs += r.specs(); zeroNames += r.zeroInitNames
            case let .down(d): specs += d.specs()
            case let .up(u): specs += u.specs()
            case let .attention(a): specs += a.specs(); zeroNames += a.zeroInitNames
            }
        }
        for block in inputBlocks { block.forEach(add) }
        middle.forEach(add)
        for block in outputBlocks { block.forEach(add) }
        specs += LayerSpecs.norm("model.out.0", channels: base)
        specs += LayerSpecs.conv("model.out.2", out: c, in: base, kernel: 3)
        zeroNames += ["model.out.2.weight", "model.out.2.bias"]
        if scheme == .zeroInit {
            let zero = Set(zeroNames)
            for i in specs.indices where zero.contains(specs[i].name) { specs[i].initializer = .zeros }
        }
        return specs
    }

    public func forward(_ x: Variable, timesteps: [Float], parameters p: ParameterBindings) -> Variable {
        p.conv(features(x, timesteps: timesteps, parameters: p), "model.out.2", padding: 1)
    }

    /// The input of the output conv: SiLU(GN(h)) of the last output block, (N, 32, H, W).
    /// ε̂ = Conv3×3(features) with `model.out.2`; the geometry's output-layer marginalisation
    /// integrates that conv's weights out analytically given these features.
    public func features(_ x: Variable, timesteps: [Float], parameters p: ParameterBindings) -> Variable {
        let temb = Variable(TimestepEmbedding.embed(timesteps, dim: config.baseChannels))  // (N, 32)
        let emb = p.linear(p.linear(temb, "model.time_embed.0").silu(), "model.time_embed.2")  // (N, 128)
        func apply(_ layer: Layer, _ h: Variable) -> Variable {
            switch layer {
            case .convIn: return p.conv(h, "model.input_blocks.0.0", padding: 1)
            case let .res(r): return r.forward(h, emb: emb, p)
            case let .down(d): return d.forward(h, p)
            case let .up(u): return u.forward(h, p)
            case let .attention(a): return a.forward(h, p)
            }
        }
        var h = x
        var skips: [Variable] = []
        for block in inputBlocks {
            for layer in block { h = apply(layer, h) }
            skips.append(h)
        }
        for layer in middle { h = apply(layer, h) }
        for block in outputBlocks {
            h = concat([h, skips.removeLast()], axis: 1)  // [current h, popped skip]
            for layer in block { h = apply(layer, h) }
        }
        return p.groupNorm32SiLU(h, "model.out.0")
    }
}
