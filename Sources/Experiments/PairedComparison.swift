/// A paired comparison over seeds of "a is smaller than b" (common random numbers make the
/// seed-wise differences the informative quantity): the differences b − a, how many are
/// positive, and two one-sided tests of H₀ "no difference" against H₁ "a < b": the exact sign
/// test (distribution-free, but with n seeds its p-value is at least 2⁻ⁿ) and the paired t-test.
public struct PairedComparison: Codable, Equatable, Sendable {
    /// b − a for each seed where both finished.
    public var differences: [Double]
    public var meanDifference: Double?
    public var standardError: Double?
    public var positive: Int
    public var count: Int
    /// P(≥ `positive` of `count` positive | H₀), exact.
    public var signTestP: Double?
    /// One-sided paired t-test p-value (nil for fewer than 2 pairs or zero spread).
    public var tTestP: Double?

    public init(smaller a: [Double], larger b: [Double]) {
        differences = zip(a, b).filter { $0.0.isFinite && $0.1.isFinite }.map { $0.1 - $0.0 }
        count = differences.count
        positive = differences.filter { $0 > 0 }.count
        let m = Statistics.mean(differences), se = Statistics.standardError(differences)
        meanDifference = count > 0 ? m : nil
        standardError = count > 1 ? se : nil
        signTestP = count > 0 ? Distributions.binomialHalfUpperTail(positive, of: count) : nil
        if count > 1, se > 0 {
            tTestP = Distributions.studentUpperTail(m / se, degrees: count - 1)
        } else if count > 1, m != 0 {
            tTestP = m > 0 ? 0 : 1  // every difference equal and non-zero
        } else {
            tTestP = nil
        }
    }

    /// Whether the data support "a < b" at level `alpha`: the mean difference is positive and
    /// the paired t-test rejects H₀ (nil when there are too few pairs to test).
    public func supports(alpha: Double = 0.05) -> Bool? {
        guard let p = tTestP, let m = meanDifference else { return nil }
        return m > 0 && p < alpha
    }

    /// "b − a = 3.1 ± 0.4, 3/3 seeds positive (sign test p = 0.125, paired t p = 0.008)".
    public var summary: String {
        let p = tTestP.map { ", paired t p = \(Statistics.format($0, 2))" } ?? ""
        return "difference \(Statistics.format(meanDifference ?? .nan, se: standardError ?? .nan)), "
            + "\(positive)/\(count) seeds positive (sign test p = \(Statistics.format(signTestP ?? .nan, 2))\(p))"
    }
}

extension PairedComparison {
    /// The comparison of two per-seed statistics over the same seeds (a failed seed drops out).
    init(smaller a: SeedStatistics, larger b: SeedStatistics) {
        self.init(smaller: a.perSeed.map { $0 ?? .nan }, larger: b.perSeed.map { $0 ?? .nan })
    }

    /// The test every paired claim states unless it says more.
    public static let claimTest = "paired t-test over seeds (one-sided), α = \(Claim.alpha); sign test reported"

    /// The claim "a < b": it holds where the profile can test it and the paired t-test rejects
    /// H₀ at level α (null with too few pairs); `directionAgrees` is the sign of the mean difference.
    func claim(
        id: String, statement: String, summary: String, testable: Bool, test: String = claimTest,
        values: [String: Double]
    ) -> Claim {
        Claim(
            id: id, statement: statement, holds: testable ? supports(alpha: Claim.alpha) : nil,
            directionAgrees: meanDifference.map { $0 > 0 },
            evidence: Claim.Evidence(summary: summary, test: test, pValue: tTestP, values: values))
    }
}
