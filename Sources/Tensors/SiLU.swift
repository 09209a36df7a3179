import CKernels

/// SiLU(x) = x·σ(x) (the U-Net's and adaLN's nonlinearity).
/// VJP: σ(x)·(1 + x·(1 − σ(x))). Both run in the vectorised C kernel (CKernels/Activations.c):
/// a scalar `exp` per element was a tenth of a batch-1 U-Net forward.
public enum SiLU {
    public static func forward(_ x: Tensor) -> Tensor {
        ElementwiseKernel.apply(sad_silu, to: x)
    }

    public static func backward(_ x: Tensor, _ dy: Tensor) -> Tensor {
        ElementwiseKernel.apply(sad_silu_backward, x, dy)
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
