import Foundation
import Tensors

/// Sinusoidal timestep embedding as the reference computes it (iDDPM `timestep_embedding`
/// and timm DiT `TimestepEmbedder.timestep_embedding`), in Float32 like PyTorch:
///   f_k = exp(−ln(10000)·k/half), k = 0…half−1,  emb = [cos(t·f), sin(t·f)]  (cos first).
/// The Float32 rounding of each step is reproduced (−ln 10000 and k/half are Float32
/// products), so the embedding matches the reference to a few ulp.
public enum TimestepEmbedding {
    /// (N, dim) for the given float timesteps.
    public static func embed(_ timesteps: [Float], dim: Int) -> Tensor {
        precondition(dim % 2 == 0, "timestep embedding needs an even dimension")
        let half = dim / 2
        let logMax = Float(-Foundation.log(10000.0))
        let freqs = (0..<half).map { k in Foundation.exp(logMax * Float(k) / Float(half)) }
        var out = Tensor(zeros: [timesteps.count, dim])
        for (n, t) in timesteps.enumerated() {
            for k in 0..<half {
                let arg = t * freqs[k]
                out.data[n * dim + k] = Foundation.cos(arg)
                out.data[n * dim + half + k] = Foundation.sin(arg)
            }
        }
        return out
    }
}
