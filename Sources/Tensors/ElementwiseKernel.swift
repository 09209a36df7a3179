/// Runs a vectorised element-wise C kernel (CKernels/Activations.c) over a whole tensor,
/// in parallel chunks. Each output element depends only on its own inputs, so the chunking
/// (and the thread count) cannot change a bit of the result.
enum ElementwiseKernel {
    /// y = f(x) over n floats, e.g. `sad_silu`.
    typealias Unary = @convention(c) (UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int) -> Void
    /// out = f(x, dy) over n floats, e.g. `sad_silu_backward` (a VJP).
    typealias Binary =
        @convention(c) (UnsafePointer<Float>?, UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int) -> Void

    /// Elements per task: large enough that scheduling is negligible, small enough to split
    /// a batch-1 activation over both cores.
    static let chunkSize = 1 << 16

    /// (same shape as x) ← kernel(x).
    static func apply(_ kernel: Unary, to x: Tensor) -> Tensor {
        Tensor(shape: x.shape) { o in
            x.data.withUnsafeBufferPointer { p in
                let out = SharedPointer(o.baseAddress!)
                Parallel.forEachChunk(total: p.count, chunkSize: chunkSize) { _, r in
                    kernel(p.baseAddress! + r.lowerBound, out.base + r.lowerBound, r.count)
                }
            }
        }
    }

    /// (same shape as x) ← kernel(x, dy); x and dy have the same shape.
    static func apply(_ kernel: Binary, _ x: Tensor, _ dy: Tensor) -> Tensor {
        precondition(x.shape == dy.shape, "element-wise VJP: x \(x.shape) vs dy \(dy.shape)")
        return Tensor(shape: x.shape) { o in
            x.data.withUnsafeBufferPointer { p in
                dy.data.withUnsafeBufferPointer { g in
                    let out = SharedPointer(o.baseAddress!)
                    Parallel.forEachChunk(total: p.count, chunkSize: chunkSize) { _, r in
                        kernel(
                            p.baseAddress! + r.lowerBound, g.baseAddress! + r.lowerBound, out.base + r.lowerBound,
                            r.count)
                    }
                }
            }
        }
    }
}
