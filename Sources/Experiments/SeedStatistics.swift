/// One quantity measured once per seed: the per-seed values (nil = a failed unit), their mean
/// and standard error over the seeds that finished. The shared aggregate of every recipe.
public struct SeedStatistics: Codable, Equatable, Sendable {
    public var perSeed: [Double?]
    public var mean: Double?
    /// Sample standard deviation / √n; 0 for a single seed.
    public var standardError: Double?
    /// Seeds with a finite value.
    public var count: Int

    /// - Parameter values: one value per seed in seed order; NaN or infinity marks a failed unit.
    public init(_ values: [Double]) {
        perSeed = values.map { $0.isFinite ? $0 : nil }
        let m = Statistics.mean(values), se = Statistics.standardError(values)
        mean = m.isFinite ? m : nil
        standardError = se.isFinite ? se : nil
        count = values.filter(\.isFinite).count
    }

    /// The mean, NaN when no seed finished (for arithmetic and charts).
    public var value: Double { mean ?? .nan }
    public var error: Double { standardError ?? .nan }

    /// "12.3 ± 0.45" (or "—").
    public var formatted: String { Statistics.format(value, se: error) }
}
