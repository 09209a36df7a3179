import Formats
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
                BLAS.dsyrk(
                    .transpose, n: d, k: n, alpha: 1 / Double(n), a: px.baseAddress!, lda: d, beta: 0,
                    c: pm.baseAddress!, ldc: d)
            }
        }
        m.withUnsafeMutableBufferPointer { BLAS.symmetrizeFromUpper($0.baseAddress!, n: d) }
        return m
    }

    /// The second moment of a `.npy` dataset (N, C, H, W), with the file checked first: shape,
    /// finite values, and the D × D matrices (moment, eigenvectors, workspace ≈ 4·8·D² bytes
    /// plus the N × D Float64 copy) sized against the memory budget before they are allocated.
    public static func secondMoment(file path: String) throws -> (images: Tensor, moment: [Double]) {
        let images = try Npy.read(path).tensor(file: path, field: "data", converting: true)
        guard images.rank == 4, images.shape[0] >= 1, images.count > 0 else {
            throw FormatError(file: path, field: "shape", expected: "(N, C, H, W) with N ≥ 1", found: "\(images.shape)")
        }
        try FiniteCheck.check(images.data, tensor: "data", context: path)
        let n = images.shape[0], d = images.count / n
        guard d <= GeometrySpec.maxDimension else {
            throw FormatError(
                file: path, field: "shape", expected: "C·H·W ≤ \(GeometrySpec.maxDimension) for a dense D × D moment",
                found: "D = \(d)")
        }
        try MemoryBudget.require(
            [d * d * 32 + n * d * 8], for: "the D × D moment and its eigenvectors (D = \(d))",
            file: path, field: "shape")
        return (images, secondMoment(images))
    }
}
