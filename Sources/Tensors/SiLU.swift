import Foundation

/// SiLU(x) = x·σ(x) (the U-Net's and adaLN's nonlinearity).
/// VJP: σ(x)·(1 + x·(1 − σ(x))).
public enum SiLU {
    public static func forward(_ x: Tensor) -> Tensor {
        Tensor(shape: x.shape) { o in
            x.data.withUnsafeBufferPointer { p in
                for i in 0..<p.count { o[i] = p[i] / (1 + Foundation.exp(-p[i])) }
            }
        }
    }

    public static func backward(_ x: Tensor, _ dy: Tensor) -> Tensor {
        Tensor(shape: x.shape) { o in
            x.data.withUnsafeBufferPointer { p in
                dy.data.withUnsafeBufferPointer { g in
                    for i in 0..<p.count {
                        let s = 1 / (1 + Foundation.exp(-p[i]))
                        o[i] = g[i] * s * (1 + p[i] * (1 - s))
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
