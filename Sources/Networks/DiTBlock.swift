import Tensors

/// A DiT block with adaLN-Zero conditioning (spec §4.2):
///   (shift₁, scale₁, gate₁, shift₂, scale₂, gate₂) = Linear(SiLU(c)) chunked in this order;
///   x += gate₁·Attn(LN(x)(1 + scale₁) + shift₁);  x += gate₂·MLP(LN(x)(1 + scale₂) + shift₂).
/// LN has no affine parameters (eps 1e-6). Attn is timm's: qkv laid out [q | k | v], each
/// split into heads of contiguous dims. MLP: Linear → GELU(tanh) → Linear.
struct DiTBlock {
    let prefix: String
    let hidden: Int
    let heads: Int
    let mlpHidden: Int

    func specs() -> [ParameterSpec] {
        func xavier(_ name: String, out: Int, in i: Int, zero: Bool = false) -> [ParameterSpec] {
            [
                ParameterSpec(
                    name + ".weight", [out, i], zero ? .zeros : .xavierUniform(fanIn: i, fanOut: out),
                    role: .linearWeight),
                ParameterSpec(name + ".bias", [out], .zeros, role: .bias),
            ]
        }
        return xavier(prefix + ".attn.qkv", out: 3 * hidden, in: hidden)
            + xavier(prefix + ".attn.proj", out: hidden, in: hidden)
            + xavier(prefix + ".mlp.fc1", out: mlpHidden, in: hidden)
            + xavier(prefix + ".mlp.fc2", out: hidden, in: mlpHidden)
            + xavier(prefix + ".adaLN_modulation.1", out: 6 * hidden, in: hidden, zero: true)
    }

    /// x (N, T, E), c (N, E) → (N, T, E).
    func forward(_ x: Variable, c: Variable, _ p: ParameterBindings) -> Variable {
        let n = x.shape[0], t = x.shape[1]
        let mod = p.linear(c.silu(), prefix + ".adaLN_modulation.1")  // (N, 6E)
            .split(Array(repeating: hidden, count: 6), axis: 1)
            .map { $0.reshaped([n, 1, hidden]) }  // 6 × (N, 1, E)
        let one = Variable(Tensor(scalar: 1))
        var h = layerNorm(x, eps: 1e-6) * (mod[1] + one) + mod[0]
        let headDim = hidden / heads
        let qkv = p.linear(h, prefix + ".attn.qkv")  // (N, T, 3E)
            .reshaped([n, t, 3, heads, headDim]).permuted([2, 0, 3, 1, 4])  // (3, N, heads, T, d): q, k, v
        let attended = scaledDotProductAttention(packed: qkv)  // (N, heads, T, d)
            .permuted([0, 2, 1, 3]).reshaped([n, t, hidden])
        var out = x + mod[2] * p.linear(attended, prefix + ".attn.proj")
        h = layerNorm(out, eps: 1e-6) * (mod[4] + one) + mod[3]
        let mlp = p.linear(p.linear(h, prefix + ".mlp.fc1").gelu(), prefix + ".mlp.fc2")
        out = out + mod[5] * mlp
        return out
    }
}
