/// Axis permutation (generalised transpose). Output axis i is input axis `axes[i]`.
/// VJP: the inverse permutation.
public enum Permute {
    public static func forward(_ x: Tensor, _ axes: [Int]) -> Tensor {
        precondition(axes.sorted() == Array(0..<x.rank), "permutation \(axes) for rank \(x.rank)")
        let outShape = axes.map { x.shape[$0] }
        let inStrides = x.strides
        let strides = axes.map { inStrides[$0] }
        if axes == Array(0..<x.rank) { return x }
        return Tensor(shape: outShape) { o in
            x.data.withUnsafeBufferPointer { p in
                let o = SharedPointer(o.baseAddress!)
                Broadcasting.forEachParallel(outShape, strides, strides) { out, ia, _, n, ka, _ in
                    for j in 0..<n { o.base[out + j] = p[ia + j * ka] }
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
