import Tensors

/// Spearman's rank correlation of two paired lists with a one-sided permutation test of
/// H₀ "no association" against H₁ "ρ > 0" (pass `-y` to test ρ < 0).
///
/// The p-value is exact (all n! orderings) for n ≤ 9 and otherwise estimated from a fixed
/// stream of random permutations, so that it is a deterministic function of the data.
/// Ties share their average rank.
public struct RankCorrelation: Codable, Equatable, Sendable {
    public var rho: Double?
    /// Pairs with both values finite.
    public var count: Int
    public var pValue: Double?
    /// "exact" or "permutation (N draws)".
    public var method: String

    static let exactLimit = 9
    static let permutations = 20_000

    public init(_ x: [Double], _ y: [Double]) {
        let pairs = zip(x, y).filter { $0.0.isFinite && $0.1.isFinite }
        count = pairs.count
        let rx = Statistics.ranks(pairs.map(\.0)), ry = Statistics.ranks(pairs.map(\.1))
        let r = Statistics.pearson(rx, ry)
        rho = r.isFinite ? r : nil
        guard r.isFinite, count >= 3 else {
            pValue = nil
            method = "not testable (fewer than 3 finite pairs or no spread)"
            return
        }
        // Σ rx·ry(perm) is a monotone function of ρ for fixed marginal ranks: compare sums,
        // with a relative tolerance so that ties with the observed value count as "as large".
        let observed = zip(rx, ry).reduce(0) { $0 + $1.0 * $1.1 }
        let tolerance = 1e-9 * max(abs(observed), 1)
        var atLeast = 0, total = 0
        if count <= Self.exactLimit {
            var perm = ry
            Self.forEachPermutation(&perm, 0) { p in
                total += 1
                if zip(rx, p).reduce(0, { $0 + $1.0 * $1.1 }) >= observed - tolerance { atLeast += 1 }
            }
            pValue = Double(atLeast) / Double(total)
            method = "exact (\(total) orderings)"
        } else {
            // Fisher–Yates with a fixed Philox stream; p = (k + 1)/(N + 1) counts the observed order.
            let stream = RandomStream(seed: 0x5EED, purpose: .experiment, index: UInt64(count))
            // Permutation s uses the stream's elements [s(n − 1), (s + 1)(n − 1)): memory O(n).
            var perm = ry
            for s in 0..<Self.permutations {
                let draws = stream.uniforms(count - 1, offset: s * (count - 1))
                for i in stride(from: count - 1, to: 0, by: -1) {
                    let u = Double(draws[count - 1 - i])
                    let j = min(Int(u * Double(i + 1)), i)
                    perm.swapAt(i, j)
                }
                if zip(rx, perm).reduce(0, { $0 + $1.0 * $1.1 }) >= observed - tolerance { atLeast += 1 }
            }
            pValue = Double(atLeast + 1) / Double(Self.permutations + 1)
            method = "permutation (\(Self.permutations) draws)"
        }
    }

    /// Every ordering of a[k...] by recursive swaps (n! calls of body).
    static func forEachPermutation(_ a: inout [Double], _ k: Int, _ body: ([Double]) -> Void) {
        if k == a.count - 1 || a.isEmpty {
            body(a)
            return
        }
        for i in k..<a.count {
            a.swapAt(k, i)
            forEachPermutation(&a, k + 1, body)
            a.swapAt(k, i)
        }
    }

    /// Whether the data support ρ > 0 at level `alpha` (nil when not testable).
    public func supportsPositive(alpha: Double = 0.05) -> Bool? {
        guard let rho, let pValue else { return nil }
        return rho > 0 && pValue < alpha
    }

    /// "Spearman ρ = 0.97 over 9 (one-sided p = 2.8e-05, exact)".
    public var summary: String {
        "Spearman ρ = \(Statistics.format(rho ?? .nan, 3)) over \(count) (one-sided p = "
            + "\(Statistics.format(pValue ?? .nan, 2)), \(method))"
    }
}

extension RankCorrelation {
    /// The test every rank claim states.
    public static let claimTest = "Spearman rank correlation, one-sided permutation test, α = \(Claim.alpha)"

    /// The claim that the association is positive: it holds where the profile can test it and
    /// ρ > 0 at level α; `directionAgrees` is the sign of ρ. The evidence's `values` carry ρ
    /// under `valueKey` (nothing when ρ is undefined: fewer than three points or all tied).
    func positiveClaim(
        id: String, statement: String, summary: String, testable: Bool, valueKey: String = "rho",
        test: String = claimTest
    ) -> Claim {
        Claim(
            id: id, statement: statement, holds: testable ? supportsPositive(alpha: Claim.alpha) : nil,
            directionAgrees: rho.map { $0 > 0 },
            evidence: Claim.Evidence(
                summary: summary, test: test, pValue: pValue, values: rho.map { [valueKey: $0] } ?? [:]))
    }
}
