import Formats
import Tensors

/// A centred Gaussian data law N(0, Σ) with Σ = Σ_i s_i u_i u_iᵀ (orthonormal u_i, k ≤ D of
/// them, s_i > 0; zero variance off their span), and the exact noise prediction of its
/// forward-diffused marginals — the target a trained ε̂ is compared with.
///
/// Under x_t = √ᾱ_t x₀ + σ_t ε, σ_t² = 1 − ᾱ_t, the marginal is N(0, Σ_t) with
/// Σ_t = ᾱ_t Σ + σ_t² I, so ∇ log p_t(x) = −Σ_t⁻¹ x and the MMSE noise prediction is
///   ε*(x_t, t) = E[ε | x_t] = −σ_t ∇ log p_t(x_t) = σ_t Σ_t⁻¹ x_t
///             = σ_t [x_t/σ_t² + Σ_i (u_iᵀx_t)(1/(ᾱ_t s_i + σ_t²) − 1/σ_t²) u_i],
/// computed from the k directions without forming D×D (Sherman–Morrison–Woodbury in the
/// eigenbasis). The paper's rank-one data N(0, D v vᵀ) is k = 1, s = D.
public struct GaussianLaw: Sendable {
    public let dimension: Int
    /// (k, D) row-major, orthonormal rows.
    public let directions: [Double]
    /// (k) variances s_i.
    public let variances: [Double]

    public var rank: Int { variances.count }

    /// Checks every input: finite, s_i in (0, 10⁹], rows orthonormal to 1e-3 (directions read
    /// from Float32 files) — then re-orthonormalises them (Gram–Schmidt in Float64) so that the
    /// formula is exact for the law actually used.
    public init(dimension d: Int, directions: [Double], variances: [Double], source: String = "gaussian") throws {
        let k = variances.count
        guard d >= 1, (1...d).contains(k), directions.count == k * d else {
            throw SettingError(
                setting: source, expected: "1…D unit directions of D = \(d) values each",
                found: "\(k) variances, \(directions.count) direction values")
        }
        try FormatError.requireFinite(directions + variances, file: source, field: "directions/variances")
        guard variances.allSatisfy({ $0 > 0 && $0 <= 1e9 }) else {
            throw SettingError(setting: source, expected: "variances in (0, 1e9]", found: "\(variances)")
        }
        var u = directions
        for i in 0..<k {
            for j in 0..<i {
                var dot = 0.0
                for q in 0..<d { dot += u[i * d + q] * u[j * d + q] }
                guard abs(dot) <= 1e-3 else {
                    throw SettingError(
                        setting: source, expected: "orthogonal directions (|u_i·u_j| ≤ 1e-3)",
                        found: "u_\(i)·u_\(j) = \(dot)")
                }
                for q in 0..<d { u[i * d + q] -= dot * u[j * d + q] }
            }
            var norm = 0.0
            for q in 0..<d { norm += u[i * d + q] * u[i * d + q] }
            norm = norm.squareRoot()
            guard abs(norm - 1) <= 1e-3 else {
                throw SettingError(
                    setting: source, expected: "unit directions (‖u‖ within 1e-3 of 1)",
                    found: "‖u_\(i)‖ = \(norm)")
            }
            for q in 0..<d { u[i * d + q] /= norm }
        }
        dimension = d
        self.directions = u
        self.variances = variances
    }

    /// The paper's rank-one law N(0, D v vᵀ) along the unit vector v.
    public static func rankOne(_ v: Tensor) throws -> GaussianLaw {
        try GaussianLaw(
            dimension: v.count, directions: v.data.map(Double.init), variances: [Double(v.count)], source: "data")
    }

    /// `count` draws x₀ = Σ_i √s_i z_i u_i (count, D), z from the data stream of `seed`:
    /// draws `first`… of the stream (k normals each), so batches of any size give the same draws.
    public func sample(count: Int, first: Int = 0, seed: UInt64, stream: UInt64) -> [Double] {
        let k = rank, d = dimension
        let z = RandomStream(seed: seed, purpose: .data, index: stream).normals(count * k, offset: first * k)
        var x = [Double](repeating: 0, count: count * d)
        for n in 0..<count {
            for i in 0..<k {
                let c = variances[i].squareRoot() * Double(z[n * k + i])
                for q in 0..<d { x[n * d + q] += c * directions[i * d + q] }
            }
        }
        return x
    }

    /// ε*(x_t, t) for one x_t (D) at ᾱ_t (formula above).
    public func optimalEpsilon(_ x: ArraySlice<Double>, alphaBar: Double) -> [Double] {
        let d = dimension, variance = 1 - alphaBar, sigma = variance.squareRoot()
        var out = x.map { $0 / variance }
        let base = x.startIndex
        for i in 0..<rank {
            var proj = 0.0
            for q in 0..<d { proj += directions[i * d + q] * x[base + q] }
            let c = proj * (1 / (alphaBar * variances[i] + variance) - 1 / variance)
            for q in 0..<d { out[q] += c * directions[i * d + q] }
        }
        return out.map { $0 * sigma }
    }

    /// Σ_t = ᾱ Σ + σ² I as a dense D×D matrix (tests; small D only).
    public func marginalCovariance(alphaBar: Double) -> [Double] {
        let d = dimension
        var c = [Double](repeating: 0, count: d * d)
        for p in 0..<d { c[p * d + p] = 1 - alphaBar }
        for i in 0..<rank {
            for p in 0..<d {
                for q in 0..<d {
                    c[p * d + q] += alphaBar * variances[i] * directions[i * d + p] * directions[i * d + q]
                }
            }
        }
        return c
    }
}
