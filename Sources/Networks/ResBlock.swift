import Tensors

/// The iDDPM ResBlock (use_scale_shift_norm = false, dropout 0):
///   h = Conv3×3(SiLU(GN(x)));  h += Linear(SiLU(emb))[:, :, None, None];
///   h = Conv3×3(SiLU(GN(h)));  out = skip(x) + h,
/// skip = identity when channels match, else a 1×1 conv. Parameter names follow the
/// reference: in_layers.{0,2}, emb_layers.1, out_layers.{0,3}, skip_connection.
struct ResBlock {
    let prefix: String
    let inChannels: Int
    let outChannels: Int
    let embeddingDim: Int

    func specs() -> [ParameterSpec] {
        var s = LayerSpecs.norm(prefix + ".in_layers.0", channels: inChannels)
        s += LayerSpecs.conv(prefix + ".in_layers.2", out: outChannels, in: inChannels, kernel: 3)
        s += LayerSpecs.linear(prefix + ".emb_layers.1", out: outChannels, in: embeddingDim)
        s += LayerSpecs.norm(prefix + ".out_layers.0", channels: outChannels)
        s += LayerSpecs.conv(prefix + ".out_layers.3", out: outChannels, in: outChannels, kernel: 3)
        if inChannels != outChannels {
            s += LayerSpecs.conv(prefix + ".skip_connection", out: outChannels, in: inChannels, kernel: 1)
        }
        return s
    }

    /// Names of the tensors stock iDDPM zero-initialises (the last conv).
    var zeroInitNames: [String] { [prefix + ".out_layers.3.weight", prefix + ".out_layers.3.bias"] }

    /// x (N, Cin, H, W), emb (N, E) → (N, Cout, H, W).
    func forward(_ x: Variable, emb: Variable, _ p: ParameterBindings) -> Variable {
        let n = x.shape[0]
        // The embedding and the residual are added inside the convolutions (bitwise the same as
        // the separate adds, without another pass over the activations).
        let embOut = p.linear(emb.silu(), prefix + ".emb_layers.1").reshaped([n, outChannels, 1, 1])
        // At inference the SiLU(GroupNorm) activations are formed inside the convolutions too
        // (``ParameterBindings/convOfGroupNorm32SiLU(_:norm:conv:padding:adding:)``; bitwise the same).
        let h = p.convOfGroupNorm32SiLU(
            x, norm: prefix + ".in_layers.0", conv: prefix + ".in_layers.2", padding: 1, adding: embOut)
        let skip = inChannels == outChannels ? x : p.conv(x, prefix + ".skip_connection")
        return p.convOfGroupNorm32SiLU(
            h, norm: prefix + ".out_layers.0", conv: prefix + ".out_layers.3", padding: 1, adding: skip)
    }
}
