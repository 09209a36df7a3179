import CKernels

/// Axis permutation (generalised transpose). Output axis i is input axis `axes[i]`.
/// VJP: the inverse permutation.
public enum Permute {
    public static func forward(_ x: Tensor, _ axes: [Int]) -> Tensor {
        precondition(axes.sorted() == Array(0..<x.rank), "permutation \(axes) for rank \(x.rank)")
        let outShape = axes.map { x.shape[$0] }
        let inStrides = x.strides
        let strides = axes.map { inStrides[$0] }
        if axes == Array(0..<x.rank) { return x }
        // Axes that stay adjacent merge (e.g. (N, T, 3, H, d) → (3, N, H, T, d) keeps d as one
        // unit-stride row), then each chunk of the outermost axis is one strided gather.
        let (shape, sa, _) = Broadcasting.coalesced(outShape, strides, strides)
        let inner = Array(shape.dropFirst()).map(Int64.init), innerStrides = Array(sa.dropFirst()).map(Int64.init)
        let innerCount = Tensor.elementCount(Array(shape.dropFirst()))
        precondition(inner.count <= Int(SAD_MAX_GATHER_RANK), "permutation of rank \(x.rank)")
        return Tensor(shape: outShape) { o in
            guard !o.isEmpty else { return }
            x.data.withUnsafeBufferPointer { p in
                let o = SharedPointer(o.baseAddress!)
                inner.withUnsafeBufferPointer { pShape in
                    innerStrides.withUnsafeBufferPointer { pStrides in
                        let perChunk = max(1, (1 << 15) / max(innerCount, 1))
                        Parallel.forEachChunk(total: shape[0], chunkSize: perChunk) { _, range in
                            for i in range {
                                sad_strided_gather(
                                    o.base + i * innerCount, p.baseAddress! + i * sa[0], Int32(inner.count),
                                    pShape.baseAddress, pStrides.baseAddress)
                            }
                        }
                    }
                }
            }
        }
    }

    public static func inverse(_ axes: [Int]) -> [Int] {
        var inv = [Int](repeating: 0, count: axes.count)
        for (i, a) in axes.enumerated() { inv[a] = i }
        return inv
    }
}

extension Variable {
    /// Permutes axes: output axis i is input axis `axes[i]`.
    public func permuted(_ axes: [Int]) -> Variable {
        Variable.record(Permute.forward(value, axes), [self]) {
            let inv = Permute.inverse(axes)
            return { dy in [Permute.forward(dy, inv)] }
        }
    }
}
