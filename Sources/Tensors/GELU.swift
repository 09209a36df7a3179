import CKernels

/// GELU with the tanh approximation (`nn.GELU(approximate="tanh")`, the DiT MLP):
/// ½x(1 + tanh u), u = √(2/π)(x + 0.044715x³), computed as x·σ(2u) (the same function:
/// 1 + tanh u = 2σ(2u), and free of overflow for large |u|).
/// VJP: σ(2u) + x·σ(2u)(1 − σ(2u))·2√(2/π)(1 + 3·0.044715x²).
/// Both run in the vectorised C kernel (CKernels/Activations.c): glibc's scalar `tanhf` was
/// a quarter of a DiT/2 training step at batch 1000.
public enum GELU {
    public static func forward(_ x: Tensor) -> Tensor {
        Tensor(shape: x.shape) { o in
            x.data.withUnsafeBufferPointer { p in
                let out = SharedPointer(o.baseAddress!)
                Parallel.forEachChunk(total: p.count, chunkSize: 1 << 16) { _, r in
                    sad_gelu(p.baseAddress! + r.lowerBound, out.base + r.lowerBound, r.count)
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
                        sad_gelu_backward(p.baseAddress! + r.lowerBound, g.baseAddress! + r.lowerBound, out.base + r.lowerBound, r.count)
                    }
                }
            }
        }
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
