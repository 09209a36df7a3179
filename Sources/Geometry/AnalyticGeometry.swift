import Diffusion
import Formats
import Networks
import Tensors

/// Closed-form geometries (spec §4.4, paper Props 1–3).
public enum AnalyticGeometry {
    /// The DiT at reference init with the zero probe: every block is the identity and the
    /// final shift/scale vanish, so ε̂(0, t) = W·u_i per token with u_i = LN(pos_i), t-free.
    /// With W iid of variance σ_w² = 2/(E + p²C) (xavier),
    ///   G_F = c_T·σ_w²·(K ⊗ I_{p²C}),  K_ij = u_i·u_j,  c_T = E_t[1/σ_t²],
    /// mapped to pixels by the unpatchify permutation. Eigenvalues c_T σ_w² λ_k(K), each with
    /// multiplicity p²C; rank K ≤ 2G − 1 (15 for p = 2, 7 for p = 4), the rest is null space.
    public static func dit(_ dit: DiT, schedule: NoiseSchedule) -> [Double] {
        let e = dit.config.hiddenSize, f = dit.patchFeatures, t = dit.tokens
        let d = dit.inputShape.reduce(1, *)
        let pos = PositionalEmbedding.table(gridSize: dit.gridSize, dim: e)  // (T, E)
        var u = [Double](repeating: 0, count: t * e)
        for i in 0..<t {
            // LayerNorm without affine, eps 1e-6 (biased variance).
            let row = (0..<e).map { Double(pos.data[i * e + $0]) }
            let mean = row.reduce(0, +) / Double(e)
            let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(e)
            let inv = 1 / (variance + 1e-6).squareRoot()
            for k in 0..<e { u[i * e + k] = (row[k] - mean) * inv }
        }
        let sigma2 = 2 / Double(e + f)
        let cT = schedule.meanInverseVariance
        var g = [Double](repeating: 0, count: d * d)
        for i in 0..<t {
            for j in 0..<t {
                var kij = 0.0
                for k in 0..<e { kij += u[i * e + k] * u[j * e + k] }
                for a in 0..<f {
                    g[dit.pixelIndex(token: i, feature: a) * d + dit.pixelIndex(token: j, feature: a)] =
                        cT * sigma2 * kij
                }
            }
        }
        return g
    }
}
