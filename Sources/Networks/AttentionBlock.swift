import Tensors

/// The iDDPM AttentionBlock with the *legacy* qkv layout (QKVAttentionLegacy):
/// qkv = Conv1d(C → 3C)(GN(x)) is reshaped to (B·heads, 3C/heads, S), so head h owns
/// channels [h·3C/heads, (h+1)·3C/heads) split as q, k, v (not [all q | all k | all v]).
/// out = x + proj_out(attention), on the un-normalised x. The reference scales q and k each
/// by ch^(−1/4); one 1/√ch on the scores is the same in exact arithmetic.
struct AttentionBlock {
    let prefix: String
    let channels: Int
    let heads: Int

    func specs() -> [ParameterSpec] {
        LayerSpecs.norm(prefix + ".norm", channels: channels)
            + LayerSpecs.conv1x1(prefix + ".qkv", out: 3 * channels, in: channels)
            + LayerSpecs.conv1x1(prefix + ".proj_out", out: channels, in: channels)
    }

    var zeroInitNames: [String] { [prefix + ".proj_out.weight", prefix + ".proj_out.bias"] }

    /// x (N, C, H, W) → (N, C, H, W).
    func forward(_ x: Variable, _ p: ParameterBindings) -> Variable {
        let n = x.shape[0], h = x.shape[2], w = x.shape[3], s = h * w
        let ch = channels / heads
        let flat = x.reshaped([n, channels, s])  // (N, C, S)
        let qkv = p.conv1x1(p.groupNorm32(flat, prefix + ".norm"), prefix + ".qkv")  // (N, 3C, S)
            .reshaped([n * heads, 3 * ch, s])  // (N·heads, 3ch, S)
        let parts = qkv.split([ch, ch, ch], axis: 1)  // q, k, v: (N·heads, ch, S)
        let tokens = parts.map { $0.permuted([0, 2, 1]) }  // (N·heads, S, ch)
        let attended = scaledDotProductAttention(q: tokens[0], k: tokens[1], v: tokens[2])
            .permuted([0, 2, 1])  // (N·heads, ch, S)
            .reshaped([n, channels, s])
        let out = p.conv1x1(attended, prefix + ".proj_out")
        return (flat + out).reshaped([n, channels, h, w])
    }
}
