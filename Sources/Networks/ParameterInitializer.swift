import Foundation
import Tensors

/// How one parameter tensor is drawn at initialisation.
public enum ParameterInitializer: Equatable, Sendable {
    /// U(−bound, bound): PyTorch's default for Conv and Linear weights and biases, with
    /// bound = 1/√fan_in (kaiming-uniform with a = √5 for weights).
    case uniform(bound: Float)
    /// Xavier/Glorot uniform: U(±√(6/(fan_in + fan_out))).
    case xavierUniform(fanIn: Int, fanOut: Int)
    /// N(0, std²).
    case normal(std: Float)
    /// N(0, std²) truncated to [−bound, bound] (`nn.init.trunc_normal_(std=s, a=−b, b=b)`).
    case truncatedNormal(std: Float, bound: Float)
    case zeros
    case ones
    /// A fixed, data-independent table (the DiT's sin-cos positions).
    case fixed(Tensor)

    /// Draws the values from `stream` starting at element `offset`; returns the number of
    /// stream elements consumed (so parameters take consecutive, non-overlapping ranges).
    func draw(shape: [Int], stream: RandomStream, offset: Int) -> (Tensor, consumed: Int) {
        let n = Tensor.elementCount(shape)
        switch self {
        case let .uniform(bound):
            var u = stream.uniforms(n, offset: offset)
            for i in 0..<n { u[i] = (2 * u[i] - 1) * bound }
            return (Tensor(shape: shape, data: u), n)
        case let .xavierUniform(fanIn, fanOut):
            let bound = (6 / Float(fanIn + fanOut)).squareRoot()
            var u = stream.uniforms(n, offset: offset)
            for i in 0..<n { u[i] = (2 * u[i] - 1) * bound }
            return (Tensor(shape: shape, data: u), n)
        case let .normal(std):
            return (Tensor(shape: shape, data: stream.normals(n, offset: offset, std: std)), n)
        case let .truncatedNormal(std, bound):
            // Inverse-CDF sampling from one uniform per value: x = σ·Φ⁻¹(Φ(−c) + u(Φ(c) − Φ(−c))),
            // c = bound/σ, in Float64 (no rejection loop, so each value takes one stream element).
            let u = stream.uniforms(n, offset: offset)
            let c = Double(bound) / Double(std)
            let lo = TruncatedNormal.cdf(-c), hi = TruncatedNormal.cdf(c)
            let values = u.map { Float(Double(std) * TruncatedNormal.quantile(lo + Double($0) * (hi - lo))) }
            return (Tensor(shape: shape, data: values.map { Swift.min(bound, Swift.max(-bound, $0)) }), n)
        case .zeros:
            return (Tensor(zeros: shape), 0)
        case .ones:
            return (Tensor(repeating: 1, shape: shape), 0)
        case let .fixed(table):
            precondition(table.shape == shape, "fixed initializer shape \(table.shape) ≠ \(shape)")
            return (table, 0)
        }
    }
}

/// Which parameter a network declares: name (the reference's `state_dict` key), shape,
/// initial distribution, and whether training updates it.
public struct ParameterSpec: Equatable, Sendable {
    public let name: String
    public let shape: [Int]
    public var initializer: ParameterInitializer
    public let trainable: Bool
    /// The role a layer gives the tensor, used by init schemes that treat roles differently.
    public let role: Role

    public enum Role: Equatable, Sendable {
        /// A convolution kernel (O, C, kH, kW) or (O, C, 1).
        case convolutionKernel
        /// A Linear weight (O, I).
        case linearWeight
        case bias
        /// A normalisation scale or shift.
        case normalization
        /// A frozen table.
        case buffer
    }

    public init(
        _ name: String, _ shape: [Int], _ initializer: ParameterInitializer,
        role: Role, trainable: Bool = true
    ) {
        self.name = name
        self.shape = shape
        self.initializer = initializer
        self.role = role
        self.trainable = trainable
    }

    public var count: Int { Tensor.elementCount(shape) }
}

/// Φ and Φ⁻¹ of the standard normal, for truncated-normal draws.
public enum TruncatedNormal {
    public static func cdf(_ x: Double) -> Double { 0.5 * erfc(-x / 2.0.squareRoot()) }

    /// Acklam's rational approximation (relative error 1.15e-9), refined by one Halley step.
    public static func quantile(_ p: Double) -> Double {
        let q = Swift.min(Swift.max(p, 1e-300), 1 - 1e-16)
        let a = [
            -3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02,
            -3.066479806614716e+01, 2.506628277459239e+00,
        ]
        let b = [
            -5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01,
            -1.328068155288572e+01,
        ]
        let c = [
            -7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00,
            4.374664141464968e+00, 2.938163982698783e+00,
        ]
        let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
        var x: Double
        if q < 0.02425 {
            let t = (-2 * log(q)).squareRoot()
            x =
                (((((c[0] * t + c[1]) * t + c[2]) * t + c[3]) * t + c[4]) * t + c[5])
                / ((((d[0] * t + d[1]) * t + d[2]) * t + d[3]) * t + 1)
        } else if q <= 1 - 0.02425 {
            let t = q - 0.5, r = t * t
            x =
                (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * t
                / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
        } else {
            let t = (-2 * log(1 - q)).squareRoot()
            x =
                -(((((c[0] * t + c[1]) * t + c[2]) * t + c[3]) * t + c[4]) * t + c[5])
                / ((((d[0] * t + d[1]) * t + d[2]) * t + d[3]) * t + 1)
        }
        let e = cdf(x) - q
        let u = e * (2 * Double.pi).squareRoot() * exp(x * x / 2)
        return x - u / (1 + x * u / 2)
    }

    /// Variance and excess kurtosis of N(0, 1) truncated to [−c, c].
    public static func moments(_ c: Double) -> (variance: Double, excessKurtosis: Double) {
        let phi = exp(-c * c / 2) / (2 * Double.pi).squareRoot(), z = 2 * cdf(c) - 1
        let m2 = 1 - 2 * c * phi / z
        let m4 = 3 * m2 - 2 * c * c * c * phi / z
        return (m2, m4 / (m2 * m2) - 3)
    }
}
