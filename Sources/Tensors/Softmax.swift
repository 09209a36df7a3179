import CKernels

/// Softmax over the last axis, max-subtracted for stability.
/// VJP: dx = y ⊙ (dy − Σ dy ⊙ y) per row.
public enum Softmax {
    public static func forward(_ x: Tensor) -> Tensor {
        let n = x.shape.last ?? 1
        let rows = n == 0 ? 0 : x.count / n
        return Tensor(shape: x.shape) { o in
            x.data.withUnsafeBufferPointer { p in
                for r in 0..<rows { row(p.baseAddress! + r * n, o.baseAddress! + r * n, n) }
            }
        }
    }

    /// One row, pointer form (reused by attention). The exponentials run in a vectorised C
    /// kernel (CKernels/Activations.c; scalar `expf` was 4% of a DiT training step).
    @inline(__always)
    static func row(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        sad_softmax_row(x, y, n)
    }

    /// Pointer form of the VJP for one row.
    @inline(__always)
    static func rowBackward(
        _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, _ n: Int
    ) {
        var dot: Float = 0
        for j in 0..<n { dot += dy[j] * y[j] }
        for j in 0..<n { dx[j] = y[j] * (dy[j] - dot) }
    }

    public static func backward(_ y: Tensor, _ dy: Tensor) -> Tensor {
        let n = y.shape.last ?? 1
        let rows = n == 0 ? 0 : y.count / n
        return Tensor(shape: y.shape) { o in
            y.data.withUnsafeBufferPointer { py in
                dy.data.withUnsafeBufferPointer { pg in
                    for r in 0..<rows {
                        rowBackward(py.baseAddress! + r * n, pg.baseAddress! + r * n, o.baseAddress! + r * n, n)
                    }
                }
            }
        }
    }
}

extension Variable {
    /// Softmax over the last axis.
    public func softmax() -> Variable {
        let y = Softmax.forward(value)
        return Variable.record(y, [self]) { { dy in [Softmax.backward(y, dy)] } }
    }
}
