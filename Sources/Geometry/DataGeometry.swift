import Tensors

/// The data side of the alignment experiments: M = E[x xᵀ] over a dataset, *uncentred*
/// (images live in [−1, 1] and their mean is part of what a generator must reproduce; MNIST,
/// for one, has many constant −1 pixels).
public enum DataGeometry {
    /// images (N, C, H, W) → row-major (D, D) Float64 second moment, via one DSYRK.
    public static func secondMoment(_ images: Tensor) -> [Double] {
        let n = images.shape[0], d = images.count / max(n, 1)
        let x = images.data.map { Double($0) }
        var m = [Double](repeating: 0, count: d * d)
        x.withUnsafeBufferPointer { px in
            m.withUnsafeMutableBufferPointer { pm in
                BLAS.dsyrk(.transpose, n: d, k: n, alpha: 1 / Double(n), a: px.baseAddress!, lda: d, beta: 0, c: pm.baseAddress!, ldc: d)
            }
        }
        m.withUnsafeMutableBufferPointer { BLAS.symmetrizeFromUpper($0.baseAddress!, n: d) }
        return m
    }
}
