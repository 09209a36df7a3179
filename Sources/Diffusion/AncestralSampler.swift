import Formats
import Foundation
import Networks
import Tensors

/// The reference's sampler (`Diffuser.sample` → `ddim` with eta = 1, spec §2.7): ancestral
/// DDPM with the posterior ("small") variance, x̂₀ returned at the last step, no clipping.
/// With `steps < T` it visits the reference's strided integer times linspace(T−1, 0, steps).
///
/// For each transition t → t′: ε̂ = net(x, t); x̂₀ = (x − √(1−ᾱ_t)ε̂)/√ᾱ_t; ε̂ recomputed
/// from x̂₀ (a no-op up to rounding, kept for fidelity); σ = η·√(1−ᾱ_t′)/√(1−ᾱ_t)·
/// √(1 − ᾱ_t/ᾱ_t′); x ← √ᾱ_t′·x̂₀ + √(1 − ᾱ_t′ − σ²)·ε̂ + σz. All in Float32 from the
/// Float32 buffers, as the reference.
public struct AncestralSampler: Sendable {
    public let schedule: NoiseSchedule
    public let steps: Int
    public let eta: Float
    public let times: [Int]

    public init(schedule: NoiseSchedule, steps: Int, eta: Float = 1) {
        precondition(steps >= 2 && steps <= schedule.timesteps, "sampler steps must be in 2…T")
        self.schedule = schedule
        self.steps = steps
        self.eta = eta
        self.times = Self.times(timesteps: schedule.timesteps, steps: steps)
    }

    /// torch.linspace(T − 1, 0, steps) cast to integers (truncation), as the reference.
    public static func times(timesteps t: Int, steps: Int) -> [Int] {
        let start = Double(t - 1), step = (0 - start) / Double(steps - 1)
        let halfway = steps / 2
        return (0..<steps).map { i in
            let v = i < halfway ? start + step * Double(i) : 0 - step * Double(steps - 1 - i)
            return Int(v)
        }
    }

    /// Per transition i (times[i] → times[i+1]): (σ, √(1 − ᾱ_t′ − σ²), √ᾱ_t′), Float32.
    public func coefficients(_ i: Int) -> (std: Float, coefEps: Float, sqrtAlphaPrev: Float) {
        let t = times[i], tp = times[i + 1]
        let abar = schedule.alphasCumprod, s1m = schedule.sqrtOneMinusAlphasCumprod
        let std = eta * s1m[tp] / s1m[t] * (1 - abar[t] / abar[tp]).squareRoot()
        let coef = (1 - abar[tp] - std * std).squareRoot()
        return (std, coef, schedule.sqrtAlphasCumprod[tp])
    }

    /// Runs the chain from `initial` (N, C, H, W). `noise(i)` supplies z for transition i
    /// (same shape); the default draws sample j's noise from RandomStream(seed, .sampling, j)
    /// at offset (i + 1)·D, so a sample does not depend on the batch it is generated in.
    public func sample(network: ScoreNetwork, initial: Tensor, noise: (Int) -> Tensor) -> Tensor {
        var x = initial
        let n = x.shape[0], d = x.count / max(n, 1)
        let sa = schedule.sqrtAlphasCumprod, s1m = schedule.sqrtOneMinusAlphasCumprod
        for i in 0..<times.count {
            let t = times[i]
            let eps = network.epsilon(x, timesteps: [Float](repeating: Float(t * 1000 / schedule.timesteps), count: n))
            var x0 = Tensor(zeros: x.shape), epsRe = Tensor(zeros: x.shape)
            for k in 0..<(n * d) {
                x0.data[k] = (x.data[k] - s1m[t] * eps.data[k]) / sa[t]
                epsRe.data[k] = (x.data[k] - sa[t] * x0.data[k]) / s1m[t]
            }
            if i == times.count - 1 { return x0 }
            let (std, coef, sap) = coefficients(i)
            let z = noise(i)
            for k in 0..<(n * d) { x.data[k] = sap * x0.data[k] + coef * epsRe.data[k] + std * z.data[k] }
        }
        return x
    }

    /// Samples `count` images with their initial state and noise drawn from `seed`, in
    /// batches (parallel inside each batch's network passes). The output (count × D floats) is
    /// sized against the memory budget first; a batch whose samples are not finite (a diverged
    /// model) is refused with the sample index rather than written.
    public func sample(network: ScoreNetwork, count: Int, seed: UInt64, batchSize: Int) throws -> Tensor {
        let shape = network.architecture.inputShape, d = shape.reduce(1, *)
        try SettingError.check(count, in: 1...1_000_000_000, "count")
        try SettingError.check(batchSize, in: 1...1_000_000, "batchSize")
        try MemoryBudget.require([count, d, 4], for: "the samples", setting: "count")
        var out = Tensor(zeros: [count] + shape)
        var start = 0
        while start < count {
            let m = min(batchSize, count - start)
            let streams = (start..<(start + m)).map { RandomStream(seed: seed, purpose: .sampling, index: UInt64($0)) }
            func draw(_ slot: Int) -> Tensor {
                var z = Tensor(zeros: [m] + shape)
                z.data.withUnsafeMutableBufferPointer { p in
                    for j in 0..<m {
                        streams[j].fillNormal(
                            UnsafeMutableBufferPointer(rebasing: p[(j * d)..<((j + 1) * d)]), offset: slot * d)
                    }
                }
                return z
            }
            let result = sample(network: network, initial: draw(0), noise: { draw($0 + 1) })
            try FiniteCheck.check(
                result.data, tensor: "samples \(start)…\(start + m - 1) (element index within the batch)",
                context: "sampling", advice: "the model diverged or its checkpoint holds extreme weights")
            for k in 0..<(m * d) { out.data[start * d + k] = result.data[k] }
            start += m
        }
        return out
    }
}
