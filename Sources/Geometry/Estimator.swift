import Diffusion
import Formats
import Tensors

/// How G_F = E_{θ, t, x}[F Fᵀ], F = ε̂(x, t)/σ_t, is estimated.
///
/// Every estimator has the same expectation; they differ in variance:
/// * `reference`: t uniform on {0…T−1} and the weight 1/σ_t² inside F, exactly as
///   geometry.py. Since 1/σ_t² runs from 1e4 (t = 0) to ≈ 1, over 99% of draws carry
///   almost no weight (effective sample size 0.74% of N).
/// * `importance`: t drawn with probability q_t ∝ 1/σ_t² and F replaced by √c_T·ε̂, c_T =
///   E_t[1/σ_t²] = 32.054. Unbiased: (1/T)Σ_t ε̂ε̂ᵀ/σ_t² = Σ_t q_t·c_T·ε̂ε̂ᵀ. For networks whose
///   output ignores t (the reference U-Net and DiT at init) every draw has the same weight.
/// * `marginal`: importance-sampled t and, in place of the rank-one ε̂ε̂ᵀ, its conditional
///   expectation over the output layer's weights given the penultimate features (see
///   `OutputLayerMarginalizable`): Rao–Blackwellisation, same mean, lower variance.
public enum Estimator: String, CaseIterable, Sendable {
    case reference, importance, marginal

    public static func parse(_ text: String) throws -> Estimator {
        guard let e = Estimator(rawValue: text) else {
            throw SettingError(
                setting: "estimator", expected: allCases.map(\.rawValue).joined(separator: ", "), found: text)
        }
        return e
    }
}

/// Draws timesteps for an estimator from the timestep stream of each network, over all of
/// 0…T−1 or over a band `range` of them (the noise-level-resolved geometry: the same
/// expectation with t uniform on the band, (1/n) Σ_{t ∈ band} ε̂ε̂ᵀ/σ_t²).
struct TimestepSampler: Sendable {
    let estimator: Estimator
    let schedule: NoiseSchedule
    /// The first timestep and the band's length (0 and T without a band).
    let first: Int, count: Int
    /// 1/σ_t² with σ_t the Float32 buffer the reference divides by.
    let inverseVariance: [Double]
    /// Cumulative q_t over the band for the importance sampler.
    let cumulative: [Double]
    /// c = E_t[1/σ_t²] over the band (c_T for the whole schedule).
    let meanInverseVariance: Double

    init(estimator: Estimator, schedule: NoiseSchedule, range: ClosedRange<Int>? = nil) {
        self.estimator = estimator
        self.schedule = schedule
        let w = schedule.inverseVariances
        inverseVariance = w
        let band = range ?? 0...(schedule.timesteps - 1)
        first = band.lowerBound
        count = band.count
        let total = w[band].reduce(0, +)
        var running = 0.0
        cumulative = w[band].map {
            running += $0 / total; return running
        }
        // Without a band: the schedule's own c_T, as every estimate before bands existed.
        meanInverseVariance = range == nil ? schedule.meanInverseVariance : total / Double(count)
    }

    /// (t, factor, weight): F = factor·ε̂ (reference: 1/σ_t; importance: √c).
    func draw(network n: UInt64, seed: UInt64) -> (t: Int, factor: Double, weight: Double) {
        let u = Double(RandomStream(seed: seed, purpose: .timestep, index: n).uniforms(1)[0])
        switch estimator {
        case .reference:
            // t = first + ⌊u·n⌋ as the reference (u ∈ (0, 1)).
            let t = first + min(count - 1, Int(u * Double(count)))
            return (t, inverseVariance[t].squareRoot(), inverseVariance[t])
        case .importance, .marginal:
            // Inverse CDF by binary search over the cumulative q_t.
            var lo = 0, hi = count - 1
            while lo < hi {
                let mid = (lo + hi) / 2
                if cumulative[mid] < u { lo = mid + 1 } else { hi = mid }
            }
            return (first + lo, meanInverseVariance.squareRoot(), meanInverseVariance)
        }
    }
}
