import Foundation

/// GELU with the tanh approximation (`nn.GELU(approximate="tanh")`, the DiT MLP):
/// ½x(1 + tanh u), u = √(2/π)(x + 0.044715x³).
/// VJP: ½(1 + tanh u) + ½x(1 − tanh²u)·√(2/π)(1 + 3·0.044715x²).
public enum GELU {
    static let k: Float = 0.7978845608028654 // √(2/π)
    static let c: Float = 0.044715

    public static func forward(_ x: Tensor) -> Tensor {
        Tensor(shape: x.shape) { o in
            x.data.withUnsafeBufferPointer { p in
                for i in 0..<p.count {
                    let v = p[i]
                    o[i] = 0.5 * v * (1 + Foundation.tanh(k * (v + c * v * v * v)))
                }
            }
        }
    }

    public static func backward(_ x: Tensor, _ dy: Tensor) -> Tensor {
        Tensor(shape: x.shape) { o in
            x.data.withUnsafeBufferPointer { p in
                dy.data.withUnsafeBufferPointer { g in
                    for i in 0..<p.count {
                        let v = p[i]
                        let t = Foundation.tanh(k * (v + c * v * v * v))
                        let d = 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * k * (1 + 3 * c * v * v)
                        o[i] = g[i] * d
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
