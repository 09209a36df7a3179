/// Sums and means, accumulated in Float64 so that large reductions do not lose the small
/// terms (a Float32 running sum over 10⁶ elements keeps ~4 significant digits).
public enum Reduction {
    /// Sum of all elements.
    public static func sum(_ x: Tensor) -> Float {
        var acc = 0.0
        x.data.withUnsafeBufferPointer { p in for v in p { acc += Double(v) } }
        return Float(acc)
    }

    /// Sum along `axis`, keeping it with extent 1.
    public static func sum(_ x: Tensor, axis: Int) -> Tensor {
        precondition(axis >= 0 && axis < x.rank)
        var shape = x.shape
        shape[axis] = 1
        let outer = x.shape[..<axis].reduce(1, *)
        let n = x.shape[axis]
        let inner = x.shape[(axis + 1)...].reduce(1, *)
        var acc = [Double](repeating: 0, count: outer * inner)
        x.data.withUnsafeBufferPointer { p in
            for i in 0..<outer {
                for k in 0..<n {
                    let base = (i * n + k) * inner
                    for j in 0..<inner { acc[i * inner + j] += Double(p[base + j]) }
                }
            }
        }
        return Tensor(shape: shape, data: acc.map { Float($0) })
    }
}

extension Variable {
    /// Sum of all elements (rank-0). VJP: broadcast the upstream scalar.
    public func sum() -> Variable {
        let shape = value.shape
        return Variable.record(Tensor(scalar: Reduction.sum(value)), [self]) {
            { dy in [Tensor(repeating: dy.scalarValue, shape: shape)] }
        }
    }

    /// Mean of all elements (rank-0).
    public func mean() -> Variable {
        let shape = value.shape, n = Float(value.count)
        return Variable.record(Tensor(scalar: Reduction.sum(value) / n), [self]) {
            { dy in [Tensor(repeating: dy.scalarValue / n, shape: shape)] }
        }
    }

    /// Sum along `axis` (kept with extent 1). VJP: broadcast back along it.
    public func sum(axis: Int) -> Variable {
        let shape = value.shape
        return Variable.record(Reduction.sum(value, axis: axis), [self]) {
            { dy in [Arithmetic.forward(Tensor(zeros: shape), dy, .add)] }
        }
    }

    /// Mean along `axis` (kept with extent 1).
    public func mean(axis: Int) -> Variable {
        sum(axis: axis) * (1 / Float(value.shape[axis]))
    }
}
