import Formats
import Tensors

/// An orthogonal change of basis of the image space: the alignment experiments train on
/// W·x and map generated samples back with Wᵀ (spec §7.2). Loaded from a (D, D) `.npy` and
/// checked to be orthogonal (a non-orthogonal W would silently change the data law).
public struct OrthogonalTransform: Sendable {
    /// Row-major (D, D).
    public let matrix: Tensor
    public var dimension: Int { matrix.shape[0] }

    public init(_ w: Tensor, file: String = "<memory>") throws {
        guard w.rank == 2, w.shape[0] == w.shape[1], w.shape[0] >= 1 else {
            throw FormatError(file: file, field: "W", expected: "a square (D, D) matrix", found: "\(w.shape)")
        }
        let d = w.shape[0]
        // NaN would pass the |WᵀW − I| test below (max drops NaN): refuse it first.
        try FormatError.requireFinite(w.data, file: file, field: "W")
        var wtw = [Float](repeating: 0, count: d * d)
        w.data.withUnsafeBufferPointer { p in
            BLAS.sgemm(
                .transpose, .none, m: d, n: d, k: d, a: p.baseAddress!, lda: d, b: p.baseAddress!, ldb: d, c: &wtw,
                ldc: d)
        }
        var worst: Float = 0
        for i in 0..<d {
            for j in 0..<d {
                let e = abs(wtw[i * d + j] - (i == j ? 1 : 0))
                worst = e > worst || e.isNaN ? e : worst  // NaN-propagating max
            }
        }
        guard worst <= 1e-3 else {
            throw FormatError(
                file: file, field: "W", expected: "an orthogonal matrix (max |WᵀW − I| ≤ 1e-3)",
                found: "max |WᵀW − I| = \(worst)")
        }
        matrix = w
    }

    public static func load(_ path: String) throws -> OrthogonalTransform {
        try OrthogonalTransform(try Npy.read(path).tensor(file: path, field: "W", converting: true), file: path)
    }

    /// x ↦ W x per sample (forward = true) or x ↦ Wᵀ x; samples (N, …) with D values each.
    public func apply(_ x: Tensor, inverse: Bool = false) throws -> Tensor {
        let n = x.shape.first ?? 0, d = dimension
        guard n > 0, x.count == n * d else {
            throw FormatError(
                file: "transform", field: "samples", expected: "\(d) values per sample", found: "shape \(x.shape)")
        }
        // Rows of X are samples: X' = X Wᵀ (forward) or X W (inverse).
        let y = Linear.forward(
            x.reshaped([n, d]), weight: inverse ? Permute.forward(matrix, [1, 0]) : matrix, bias: nil)
        return y.reshaped(x.shape)
    }
}
