/// Concatenation along an axis and its inverse, slicing. Concatenation's VJP slices the
/// upstream gradient; slicing's VJP scatters it into zeros.
public enum Concat {
    /// Joins tensors whose shapes agree except along `axis`.
    public static func forward(_ xs: [Tensor], axis: Int) -> Tensor {
        precondition(!xs.isEmpty)
        let rank = xs[0].rank
        precondition(axis >= 0 && axis < rank)
        for x in xs {
            precondition(
                x.rank == rank && (0..<rank).allSatisfy { $0 == axis || x.shape[$0] == xs[0].shape[$0] },
                "concat shapes \(xs.map(\.shape)) along axis \(axis)")
        }
        var shape = xs[0].shape
        shape[axis] = xs.map { $0.shape[axis] }.reduce(0, +)
        let outer = xs[0].shape[..<axis].reduce(1, *)
        let inner = xs[0].shape[(axis + 1)...].reduce(1, *)
        let rowOut = shape[axis] * inner
        return Tensor(shape: shape) { o in
            var offset = 0
            let out = SharedPointer(o.baseAddress!)
            for x in xs {
                let row = x.shape[axis] * inner
                let start = offset
                x.data.withUnsafeBufferPointer { p in
                    Parallel.forEachChunk(total: outer, chunkSize: max(1, (1 << 15) / max(row, 1))) { _, range in
                        for i in range {
                            (out.base + i * rowOut + start).update(from: p.baseAddress! + i * row, count: row)
                        }
                    }
                }
                offset += row
            }
        }
    }

    /// Elements `range` along `axis`.
    public static func slice(_ x: Tensor, axis: Int, range: Range<Int>) -> Tensor {
        precondition(
            axis >= 0 && axis < x.rank && range.lowerBound >= 0 && range.upperBound <= x.shape[axis],
            "slice \(range) of axis \(axis) in \(x.shape)")
        var shape = x.shape
        shape[axis] = range.count
        let outer = x.shape[..<axis].reduce(1, *)
        let inner = x.shape[(axis + 1)...].reduce(1, *)
        let rowIn = x.shape[axis] * inner, row = range.count * inner, start = range.lowerBound * inner
        return Tensor(shape: shape) { o in
            guard row > 0 else { return }
            x.data.withUnsafeBufferPointer { p in
                for i in 0..<outer {
                    (o.baseAddress! + i * row).update(from: p.baseAddress! + i * rowIn + start, count: row)
                }
            }
        }
    }

    /// VJP of ``slice(_:axis:range:)``: `dy` placed at `range` of a zero tensor of `shape`.
    public static func sliceBackward(_ dy: Tensor, shape: [Int], axis: Int, range: Range<Int>) -> Tensor {
        let outer = shape[..<axis].reduce(1, *)
        let inner = shape[(axis + 1)...].reduce(1, *)
        let rowOut = shape[axis] * inner, row = range.count * inner, start = range.lowerBound * inner
        // Each output row: zeros before the slice, its part of dy, zeros after.
        return Tensor(shape: shape) { o in
            guard rowOut > 0 else { return }
            dy.data.withUnsafeBufferPointer { p in
                for i in 0..<outer {
                    let dst = o.baseAddress! + i * rowOut
                    dst.update(repeating: 0, count: start)
                    if row > 0 { (dst + start).update(from: p.baseAddress! + i * row, count: row) }
                    (dst + start + row).update(repeating: 0, count: rowOut - start - row)
                }
            }
        }
    }
}

/// Concatenates along `axis` (e.g. the U-Net's `[h, skip]` along channels).
public func concat(_ xs: [Variable], axis: Int) -> Variable {
    let y = Concat.forward(xs.map(\.value), axis: axis)
    return Variable.record(y, xs) {
        let sizes = xs.map { $0.value.shape[axis] }
        return { dy in
            var start = 0
            return sizes.map { n in
                defer { start += n }
                return Concat.slice(dy, axis: axis, range: start..<(start + n))
            }
        }
    }
}

extension Variable {
    /// Elements `range` along `axis`.
    public func slice(axis: Int, _ range: Range<Int>) -> Variable {
        let shape = value.shape
        return Variable.record(Concat.slice(value, axis: axis, range: range), [self]) {
            { dy in [Concat.sliceBackward(dy, shape: shape, axis: axis, range: range)] }
        }
    }

    /// Splits along `axis` into consecutive pieces of the given sizes.
    public func split(_ sizes: [Int], axis: Int) -> [Variable] {
        precondition(sizes.reduce(0, +) == value.shape[axis], "split sizes \(sizes) for extent \(value.shape[axis])")
        var start = 0
        return sizes.map { n in
            defer { start += n }
            return slice(axis: axis, start..<(start + n))
        }
    }
}
