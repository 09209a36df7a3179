import CKernels

/// SiLU(x) = x·σ(x) (the U-Net's and adaLN's nonlinearity).
/// VJP: σ(x)·(1 + x·(1 − σ(x))). Both run in the vectorised C kernel (CKernels/Activations.c):
/// a scalar `exp` per element was a tenth of a batch-1 U-Net forward.
public enum SiLU {
    public static func forward(_ x: Tensor) -> Tensor {
        Tensor(shape: x.shape) { o in
            x.data.withUnsafeBufferPointer { p in sad_silu(p.baseAddress, o.baseAddress, p.count) }
        }
    }

    public static func backward(_ x: Tensor, _ dy: Tensor) -> Tensor {
        Tensor(shape: x.shape) { o in
            x.data.withUnsafeBufferPointer { p in
                dy.data.withUnsafeBufferPointer { g in sad_silu_backward(p.baseAddress, g.baseAddress, o.baseAddress, p.count) }
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
