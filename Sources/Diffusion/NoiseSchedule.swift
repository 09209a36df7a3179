import Foundation
import Tensors

/// The DDPM noise schedule of the reference Diffuser (spec §2.1): β computed in Float64,
/// α = 1 − β and ᾱ = ∏α in Float64, then every buffer (β, √β, α, ᾱ, 1 − ᾱ, √α, √ᾱ,
/// √(1 − ᾱ)) rounded to Float32, square roots taken in Float64 first.
public struct NoiseSchedule: Sendable, Equatable {
    public enum Kind: String, Sendable { case linear, cosine }

    public let kind: Kind
    public let timesteps: Int
    /// Float64 originals.
    public let betas64: [Double]
    public let alphasCumprod64: [Double]
    /// The Float32 buffers the reference stores (names as in its state_dict).
    public let betas, sqrtBetas, alphas, alphasCumprod, oneMinusAlphasCumprod: [Float]
    public let sqrtAlphas, sqrtAlphasCumprod, sqrtOneMinusAlphasCumprod: [Float]

    public init(kind: Kind, timesteps t: Int) {
        precondition(t >= 2, "a schedule needs at least 2 steps")
        var betas = [Double](repeating: 0, count: t)
        switch kind {
        case .linear:
            // torch.linspace(0.1/T, 20/T, T, dtype=float64): the first half counts up from
            // the start, the second half down from the end (its symmetric evaluation).
            let start = 0.1 / Double(t), end = 20 / Double(t)
            let step = (end - start) / Double(t - 1)
            let halfway = t / 2
            for i in 0..<t { betas[i] = i < halfway ? start + step * Double(i) : end - step * Double(t - 1 - i) }
        case .cosine:
            let s = 0.008
            func f(_ u: Double) -> Double {
                let c = Foundation.cos(((u / Double(t) + s) / (1 + s)) * Double.pi / 2)
                return c * c
            }
            for i in 0..<t { betas[i] = min(max(1 - f(Double(i + 1)) / f(Double(i)), 0), 0.999) }
        }
        var cumprod = [Double](repeating: 0, count: t)
        var running = 1.0
        for i in 0..<t { running *= 1 - betas[i]; cumprod[i] = running }
        self.kind = kind
        self.timesteps = t
        self.betas64 = betas
        self.alphasCumprod64 = cumprod
        self.betas = betas.map { Float($0) }
        self.sqrtBetas = betas.map { Float($0.squareRoot()) }
        self.alphas = betas.map { Float(1 - $0) }
        self.alphasCumprod = cumprod.map { Float($0) }
        self.oneMinusAlphasCumprod = cumprod.map { Float(1 - $0) }
        self.sqrtAlphas = betas.map { Float((1 - $0).squareRoot()) }
        self.sqrtAlphasCumprod = cumprod.map { Float($0.squareRoot()) }
        self.sqrtOneMinusAlphasCumprod = cumprod.map { Float((1 - $0).squareRoot()) }
    }

    /// 1/σ_t² per t, with σ_t the Float32 √(1 − ᾱ_t) buffer the reference divides ε̂ by.
    public var inverseVariances: [Double] {
        sqrtOneMinusAlphasCumprod.map { 1 / (Double($0) * Double($0)) }
    }

    /// c_T = E_t[1/σ_t²] over uniform t: the weight of the geometry estimator
    /// (32.054 for the linear schedule with T = 1000).
    public var meanInverseVariance: Double {
        inverseVariances.reduce(0, +) / Double(timesteps)
    }
}

/// One DSM training batch formed exactly as the reference's `Diffuser.forward` (spec §2.2,
/// §2.5, fixture finding 5): x_t = √ᾱ_t·x₀ + √(1 − ᾱ_t)·ε with both roots taken in Float32
/// of the Float32 ᾱ buffer, and the target rebuilt from the stored √ buffers as
/// (x_t − √ᾱ_t·x₀)/√(1 − ᾱ_t), which differs from ε by rounding (≈ 5e-7).
public struct DSMBatch {
    /// (N, C, H, W)
    public let xt: Tensor
    /// (N, C, H, W)
    public let target: Tensor

    public init(schedule: NoiseSchedule, x0: Tensor, noise: Tensor, timesteps: [Int]) {
        precondition(x0.shape == noise.shape && x0.shape.first == timesteps.count, "DSM batch shapes")
        let n = timesteps.count, d = x0.count / max(n, 1)
        var xt = Tensor(zeros: x0.shape), target = Tensor(zeros: x0.shape)
        for i in 0..<n {
            let t = timesteps[i]
            let abar = schedule.alphasCumprod[t]
            let a = abar.squareRoot(), b = (1 - abar).squareRoot()
            let sa = schedule.sqrtAlphasCumprod[t], sb = schedule.sqrtOneMinusAlphasCumprod[t]
            for j in (i * d)..<((i + 1) * d) {
                let v = a * x0.data[j] + b * noise.data[j]
                xt.data[j] = v
                target.data[j] = (v - sa * x0.data[j]) / sb
            }
        }
        self.xt = xt
        self.target = target
    }
}
