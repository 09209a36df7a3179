import Foundation
import Tensors

/// The DiT's fixed 2-D sin-cos positional table (MAE `get_2d_sincos_pos_embed`), computed
/// in Float64 and cast to Float32. Token m = i·G + j (patch row i, column j). The first
/// half of the dimensions encodes the **column** j, the second half the row i; each half is
/// [sin(q·ω_0…), cos(q·ω_0…)] with ω_k = 10000^(−k/(dim/4)).
public enum PositionalEmbedding {
    /// (G·G, dim).
    public static func table(gridSize g: Int, dim: Int) -> Tensor {
        precondition(dim % 4 == 0)
        let quarter = dim / 4
        let omega = (0..<quarter).map { k in 1 / Foundation.pow(10000.0, Double(k) / Double(quarter)) }
        var out = Tensor(zeros: [g * g, dim])
        for i in 0..<g {
            for j in 0..<g {
                let row = (i * g + j) * dim
                for (half, q) in [(0, j), (1, i)] {
                    for k in 0..<quarter {
                        let a = Double(q) * omega[k]
                        out.data[row + half * 2 * quarter + k] = Float(Foundation.sin(a))
                        out.data[row + half * 2 * quarter + quarter + k] = Float(Foundation.cos(a))
                    }
                }
            }
        }
        return out
    }
}
