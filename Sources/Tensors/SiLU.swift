import CKernels

/// SiLU(x) = x·σ(x) (the U-Net's and adaLN's nonlinearity).
/// VJP: σ(x)·(1 + x·(1 − σ(x))). Both run in the vectorised C kernel (CKernels/Activations.c):
/// a scalar `exp` per element was a tenth of a batch-1 U-Net forward.
public enum SiLU {
    public static func forward(_ x: Tensor) -> Tensor {
        Tensor(shape: x.shape) { o in
            x.data.withUnsafeBufferPointer { p in
                let out = SharedPointer(o.baseAddress!)
                Parallel.forEachChunk(total: p.count, chunkSize: 1 << 16) { _, r in
                    sad_silu(p.baseAddress! + r.lowerBound, out.base + r.lowerBound, r.count)
                }
            }
        }
    }

    public static func backward(_ x: Tensor, _ dy: Tensor) -> Tensor {
        Tensor(shape: x.shape) { o in
            x.data.withUnsafeBufferPointer { p in
                dy.data.withUnsafeBufferPointer { g in
                    let out = SharedPointer(o.baseAddress!)
                    Parallel.forEachChunk(total: p.count, chunkSize: 1 << 16) { _, r in
                        sad_silu_backward(p.baseAddress! + r.lowerBound, g.baseAddress! + r.lowerBound, out.base + r.lowerBound, r.count)
                    }
                }
            }
        }
    }
}
extension Variable {
    public func silu() -> Variable {
        Variable.record(SiLU.forward(value), [self]) {
            let x = value
            return { dy in [SiLU.backward(x, dy)] }
        }
    }
}
