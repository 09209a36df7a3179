import CKernels

/// GELU with the tanh approximation (`nn.GELU(approximate="tanh")`, the DiT MLP):
/// ½x(1 + tanh u), u = √(2/π)(x + 0.044715x³), computed as x·σ(2u) (the same function:
/// 1 + tanh u = 2σ(2u), and free of overflow for large |u|).
/// VJP: σ(2u) + x·σ(2u)(1 − σ(2u))·2√(2/π)(1 + 3·0.044715x²).
/// Both run in the vectorised C kernel (CKernels/Activations.c): glibc's scalar `tanhf` was
/// a quarter of a DiT/2 training step at batch 1000.
public enum GELU {
    public static func forward(_ x: Tensor) -> Tensor {
        ElementwiseKernel.apply(sad_gelu, to: x)
    }

    public static func backward(_ x: Tensor, _ dy: Tensor) -> Tensor {
        ElementwiseKernel.apply(sad_gelu_backward, x, dy)
    }
}

extension Variable {
    public func gelu() -> Variable {
        Variable.record(GELU.forward(value), [self]) {
            let x = value
            return { dy in [GELU.backward(x, dy)] }
        }
    }
}
