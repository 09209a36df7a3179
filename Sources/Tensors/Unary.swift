import CKernels
import Foundation

/// Element-wise functions of one tensor that imported (ONNX) graphs use, each with its
/// derivative: y = f(x), VJP ∂x = f′(x)·∂y. Computed in Float32 with the C library's
/// functions, as PyTorch's CPU kernels do to within their last bits.
public enum UnaryFunction: Equatable, Sendable {
    case sin, cos, exp, log, sqrt, tanh, sigmoid, erf, relu, negate, abs, reciprocal
    /// x^p for a constant exponent p.
    case power(Float)
    /// GELU, exact (erf) form: ½x(1 + erf(x/√2)).
    case geluExact
    /// min(max(x, low), high); derivative 1 strictly inside, 0 outside.
    case clip(Float, Float)
    /// x for x ≥ 0, αx below.
    case leakyRelu(Float)
    /// log(1 + eˣ), computed as x + log1p(e⁻ˣ) for x > 0 so that it cannot overflow.
    case softplus

    /// f(x) for one value.
    @inline(__always)
    public func value(_ x: Float) -> Float {
        switch self {
        case .sin: return Foundation.sin(x)
        case .cos: return Foundation.cos(x)
        case .exp: return Foundation.exp(x)
        case .log: return Foundation.log(x)
        case .sqrt: return x.squareRoot()
        case .tanh: return Foundation.tanh(x)  // (forward(_:) uses the vector kernel)
        case .sigmoid: return 1 / (1 + Foundation.exp(-x))
        case .erf: return Foundation.erf(x)
        case .relu: return x > 0 ? x : 0
        case .negate: return -x
        case .abs: return Swift.abs(x)
        case .reciprocal: return 1 / x
        case let .power(p): return UnaryFunction.power(x, p)
        case .geluExact: return 0.5 * x * (1 + Foundation.erf(x * Float(0.5).squareRoot()))
        case let .clip(low, high): return Swift.min(Swift.max(x, low), high)
        case let .leakyRelu(alpha): return x >= 0 ? x : alpha * x
        case .softplus: return x > 0 ? x + Foundation.log1p(Foundation.exp(-x)) : Foundation.log1p(Foundation.exp(x))
        }
    }

    /// f′(x) given x and y = f(x).
    @inline(__always)
    public func derivative(_ x: Float, _ y: Float) -> Float {
        switch self {
        case .sin: return Foundation.cos(x)
        case .cos: return -Foundation.sin(x)
        case .exp: return y
        case .log: return 1 / x
        case .sqrt: return 0.5 / y
        case .tanh: return 1 - y * y
        case .sigmoid: return y * (1 - y)
        case .erf: return 2 / Float.pi.squareRoot() * Foundation.exp(-x * x)
        case .relu: return x > 0 ? 1 : 0
        case .negate: return -1
        case .abs: return x > 0 ? 1 : (x < 0 ? -1 : 0)
        case .reciprocal: return -y * y
        case let .power(p): return p == 0 ? 0 : p * UnaryFunction.power(x, p - 1)
        case .geluExact:
            let cdf = 0.5 * (1 + Foundation.erf(x * Float(0.5).squareRoot()))
            let pdf = Foundation.exp(-0.5 * x * x) / (2 * Float.pi).squareRoot()
            return cdf + x * pdf
        case let .clip(low, high): return x > low && x < high ? 1 : 0
        case let .leakyRelu(alpha): return x >= 0 ? 1 : alpha
        case .softplus: return 1 / (1 + Foundation.exp(-x))
        }
    }

    /// x^p with small integer exponents as products (what PyTorch's `pow` does for 2 and 3,
    /// and exact for negative bases, where powf of a non-integer would be NaN anyway).
    @inline(__always)
    static func power(_ x: Float, _ p: Float) -> Float {
        switch p {
        case 0: return 1
        case 1: return x
        case 2: return x * x
        case 3: return x * x * x
        case 0.5: return x.squareRoot()
        case -1: return 1 / x
        default: return Foundation.pow(x, p)
        }
    }

    public func forward(_ x: Tensor) -> Tensor {
        // σ and tanh through the vectorised C kernels (scalar expm1f/tanhf were a fifth of an
        // imported DiT's forward pass); the derivatives below use y, so they stay consistent.
        switch self {
        case .sigmoid: return ElementwiseKernel.apply(sad_sigmoid, to: x)
        case .tanh: return ElementwiseKernel.apply(sad_tanh, to: x)
        default: break
        }
        return Tensor(shape: x.shape) { o in
            x.data.withUnsafeBufferPointer { p in
                let out = SharedPointer(o.baseAddress!)
                Parallel.forEachChunk(total: p.count, chunkSize: ElementwiseKernel.chunkSize) { _, r in
                    for i in r { out.base[i] = value(p[i]) }
                }
            }
        }
    }

    public func backward(_ x: Tensor, _ y: Tensor, _ dy: Tensor) -> Tensor {
        Tensor(shape: x.shape) { o in
            x.data.withUnsafeBufferPointer { px in
                y.data.withUnsafeBufferPointer { py in
                    dy.data.withUnsafeBufferPointer { g in
                        for i in 0..<px.count { o[i] = derivative(px[i], py[i]) * g[i] }
                    }
                }
            }
        }
    }
}

extension Variable {
    /// f(self) element-wise, differentiable.
    public func applying(_ f: UnaryFunction) -> Variable {
        let y = f.forward(value)
        return Variable.record(y, [self]) {
            let x = value
            return { dy in [f.backward(x, y, dy)] }
        }
    }
}
