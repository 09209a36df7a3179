/// Maximum over the last axis (max pooling over gathered windows, ReduceMax).
/// VJP: the upstream gradient goes to the first maximal element of each row.
public enum MaxReduction {
    /// (…, n) → (…) and the argmax of every row.
    public static func forward(_ x: Tensor) -> (Tensor, [Int]) {
        let n = x.shape.last ?? 1
        precondition(n > 0, "max over an empty axis")
        let rows = x.count / n
        var arg = [Int](repeating: 0, count: rows)
        let y = Tensor(shape: Array(x.shape.dropLast())) { o in
            for r in 0..<rows {
                var best = x.data[r * n], at = 0
                for j in 1..<n where x.data[r * n + j] > best || best.isNaN {
                    best = x.data[r * n + j]; at = j
                }
                o[r] = best
                arg[r] = r * n + at
            }
        }
        return (y, arg)
    }
}

extension Variable {
    /// Maximum over the last axis (dropped).
    public func maxOverLastAxis() -> Variable {
        let (y, arg) = MaxReduction.forward(value)
        let shape = value.shape
        return Variable.record(y, [self]) {
            { dy in
                var dx = Tensor(zeros: shape)
                for (r, i) in arg.enumerated() { dx.data[i] += dy.data[r] }
                return [dx]
            }
        }
    }
}
