/// NumPy broadcasting rules: shapes are right-aligned; an extent of 1 stretches.
public enum Broadcasting {
    /// The broadcast shape of `a` and `b`, or nil if they are incompatible.
    public static func shape(_ a: [Int], _ b: [Int]) -> [Int]? {
        let rank = max(a.count, b.count)
        var out = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            if da == db || db == 1 { out[i] = da } else if da == 1 { out[i] = db } else { return nil }
        }
        return out
    }

    /// Strides (in elements) for reading a tensor of `shape` as if it had shape `target`:
    /// 0 along broadcast axes.
    static func strides(of shape: [Int], broadcastTo target: [Int]) -> [Int] {
        let own = Tensor.rowMajorStrides(shape)
        let lead = target.count - shape.count
        return (0..<target.count).map { i in
            i < lead ? 0 : (shape[i - lead] == 1 && target[i] != 1 ? 0 : own[i - lead])
        }
    }

    /// The same iteration with adjacent axes merged wherever both operands step through them
    /// as through one axis (e.g. (1, 32, 16, 16) ⊙ (32, 1, 1) becomes (32, 256) with strides
    /// (1, 0)): longer inner loops, identical element order, so identical results.
    static func coalesced(_ shape: [Int], _ sa: [Int], _ sb: [Int]) -> ([Int], [Int], [Int]) {
        guard shape.count >= 2 else { return (shape, sa, sb) }
        var outShape = [shape[0]], outA = [sa[0]], outB = [sb[0]]
        for i in 1..<shape.count {
            let last = outShape.count - 1
            // The outermost axis stays its own when it has extent > 1: ``forEachParallel``
            // splits the work over it (merging it would make a large batch single-threaded).
            let mergeable = last > 0 || outShape[0] == 1
            if mergeable && outA[last] == sa[i] * shape[i] && outB[last] == sb[i] * shape[i] {
                outShape[last] *= shape[i]
                outA[last] = sa[i]
                outB[last] = sb[i]
            } else if mergeable && outShape[last] == 1 {
                outShape[last] = shape[i]
                outA[last] = sa[i]
                outB[last] = sb[i]
            } else {
                outShape.append(shape[i])
                outA.append(sa[i])
                outB.append(sb[i])
            }
        }
        return (outShape, outA, outB)
    }

    /// Visits every element of `target` in row-major order, passing the flat offsets of
    /// the corresponding elements of two broadcast operands. The innermost axis is a
    /// tight loop so the common cases (same shape, per-channel, scalar) stay fast.
    @inline(__always)
    static func forEach(
        _ target: [Int], _ sa: [Int], _ sb: [Int],
        _ body: (_ out: Int, _ a: Int, _ b: Int, _ n: Int, _ strideA: Int, _ strideB: Int) -> Void
    ) {
        let total = Tensor.elementCount(target)
        if total == 0 { return }
        let rank = target.count
        if rank == 0 { body(0, 0, 0, 1, 0, 0); return }
        let inner = target[rank - 1]
        var index = [Int](repeating: 0, count: rank)
        var offA = 0, offB = 0, out = 0
        while out < total {
            body(out, offA, offB, inner, sa[rank - 1], sb[rank - 1])
            out += inner
            // Increment the multi-index over the outer axes.
            var axis = rank - 2
            while axis >= 0 {
                index[axis] += 1
                offA += sa[axis]
                offB += sb[axis]
                if index[axis] < target[axis] { break }
                offA -= sa[axis] * target[axis]
                offB -= sb[axis] * target[axis]
                index[axis] = 0
                axis -= 1
            }
        }
    }

    /// ``forEach(_:_:_:_:)`` split over the outermost axis in parallel (each slice writes its
    /// own outputs). Used when the output is large enough to be worth the threads. Inlined so
    /// that `body` is too: an indirect call per row cost more than the DiT's 48-float rows.
    @inline(__always)
    static func forEachParallel(
        _ target: [Int], _ sa: [Int], _ sb: [Int],
        _ body: (_ out: Int, _ a: Int, _ b: Int, _ n: Int, _ strideA: Int, _ strideB: Int) -> Void
    ) {
        let total = Tensor.elementCount(target)
        guard target.count >= 2, target[0] > 1, total >= 1 << 15 else {
            forEach(target, sa, sb, body)
            return
        }
        let inner = Array(target.dropFirst()), innerCount = Tensor.elementCount(inner)
        let ia = Array(sa.dropFirst()), ib = Array(sb.dropFirst())
        let perChunk = max(1, (1 << 15) / max(innerCount, 1))
        Parallel.forEachChunk(total: target[0], chunkSize: perChunk) { _, range in
            for i in range {
                forEach(inner, ia, ib) { out, a, b, n, ka, kb in
                    body(i * innerCount + out, i * sa[0] + a, i * sb[0] + b, n, ka, kb)
                }
            }
        }
    }

    /// Sums `gradient` (of the broadcast shape) down to `shape`: the VJP of broadcasting.
    public static func reduce(_ gradient: Tensor, to shape: [Int]) -> Tensor {
        if gradient.shape == shape { return gradient }
        let s = strides(of: shape, broadcastTo: gradient.shape)
        var result = [Float](repeating: 0, count: Tensor.elementCount(shape))
        gradient.data.withUnsafeBufferPointer { g in
            result.withUnsafeMutableBufferPointer { r in
                guard let g = g.baseAddress, let r = r.baseAddress else { return }
                // Axes are not merged here: a stretched inner axis sums each row on its own
                // before adding it in, and merging rows would change that rounding.
                forEach(gradient.shape, s, s) { out, a, _, n, stride, _ in
                    let src = g + out, dst = r + a
                    if stride == 0 {
                        var acc: Float = 0
                        for j in 0..<n { acc += src[j] }
                        dst[0] += acc
                    } else if stride == 1 {
                        for j in 0..<n { dst[j] += src[j] }
                    } else {
                        for j in 0..<n { dst[j * stride] += src[j] }
                    }
                }
            }
        }
        return Tensor(shape: shape, data: result)
    }
}
