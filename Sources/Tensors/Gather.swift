/// Element gather through a precomputed index map: y[i] = x[map[i]], or 0 where
/// map[i] < 0 (padding). One primitive serves every data-movement op of an imported graph
/// whose pattern is not a plain permutation or slice: strided slices, expands, nearest
/// resizes, zero padding, kernel dilation, GatherND.
/// VJP: scatter-add, ∂x[map[i]] += ∂y[i], in index order (so repeated indices, as in an
/// expand or an upsampling, sum deterministically).
public enum Gather {
    public static func forward(_ x: Tensor, map: [Int32], shape: [Int]) -> Tensor {
        precondition(Tensor.elementCount(shape) == map.count, "gather: \(map.count) indices for shape \(shape)")
        return Tensor(shape: shape) { o in
            x.data.withUnsafeBufferPointer { p in
                map.withUnsafeBufferPointer { m in
                    for i in 0..<m.count {
                        let j = Int(m[i])
                        precondition(j < p.count, "gather index \(j) outside \(p.count) elements")
                        o[i] = j < 0 ? 0 : p[j]
                    }
                }
            }
        }
    }

    public static func backward(inputShape: [Int], map: [Int32], _ dy: Tensor) -> Tensor {
        var dx = [Float](repeating: 0, count: Tensor.elementCount(inputShape))
        dy.data.withUnsafeBufferPointer { g in
            map.withUnsafeBufferPointer { m in
                for i in 0..<m.count where m[i] >= 0 { dx[Int(m[i])] += g[i] }
            }
        }
        return Tensor(shape: inputShape, data: dx)
    }
}

extension Variable {
    /// y[i] = self[map[i]] (0 where map[i] < 0), of `shape`.
    public func gathered(_ map: [Int32], shape: [Int]) -> Variable {
        let inputShape = value.shape
        return Variable.record(Gather.forward(value, map: map, shape: shape), [self]) {
            { dy in [Gather.backward(inputShape: inputShape, map: map, dy)] }
        }
    }
}
