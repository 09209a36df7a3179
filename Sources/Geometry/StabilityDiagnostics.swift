import Foundation
import Tensors

/// How trustworthy each SAD is. SADs are eigenvectors of a Monte-Carlo estimate: a vector is
/// only meaningful if an independent half of the networks gives the same one, and inside a
/// (near-)degenerate eigenvalue group only the subspace is defined.
public struct StabilityDiagnostics: Codable, Sendable {
    /// |u_i·v_i| between the SADs of the two halves (even and odd chunks).
    public var perRankOverlap: [Double]
    /// Paper Eq. 30: ‖V_{a:b}V_{a:b}ᵀ u_i‖² with the window a…b of 2h + 1 ranks centred on i.
    public var bandOverlap: [Double]
    public var bandHalfWidth: Int
    /// (λ_i − λ_{i+1})/λ_i (the last entry is 0).
    public var relativeEigengaps: [Double]
    /// Standard error of each eigenvalue from the two halves: |λ_i^A − λ_i^B|/2.
    public var eigenvalueStandardErrors: [Double]
    /// Groups of consecutive eigenvalues equal to within max(degeneracyTolerance·|λ|,
    /// the Float64 rounding floor 100·ε·λ_max): [first, size]. Exact multiplicities (the
    /// untrained DiT's p²C-fold groups) show up here; Monte-Carlo near-degeneracies do not.
    public var degenerateGroups: [[Int]]
    public var degeneracyTolerance: Double
    /// Eigenvalues with |λ| ≤ nullTolerance·λ_max (rounding level of a Float64 eigensolver).
    public var nullSpaceDimension: Int
    public var nullTolerance: Double
    public var trace: Double
    public var traceStandardError: Double
    /// (Σw)²/(N Σw²) of the estimator weights: the fraction of networks that effectively count.
    public var effectiveSampleSizeFraction: Double
    public var networks: Int
    public var networksPerHalf: [Int]

    /// The index ranges whose vectors are stable: overlap ≥ 0.9, or band overlap ≥ 0.95.
    public func isStable(_ i: Int) -> Bool { perRankOverlap[i] >= 0.9 || bandOverlap[i] >= 0.95 }

    /// The degenerate group containing index i, if any.
    public func group(containing i: Int) -> [Int]? { degenerateGroups.first { i >= $0[0] && i < $0[0] + $0[1] } }

    static func compute(total: SymmetricEigen<Double>, halfA: SymmetricEigen<Double>, halfB: SymmetricEigen<Double>,
                        chunkTrace: [Double], chunkWeight: [Double], chunkWeightSquared: [Double], chunkNetworks: [Int],
                        networksPerHalf: [Int], bandHalfWidth h: Int = 1,
                        degeneracyTolerance: Double = 1e-6, nullTolerance: Double = 1000 * Double.ulpOfOne) -> StabilityDiagnostics {
        let d = total.n
        let a = halfA.vectors, b = halfB.vectors
        func dot(_ i: Int, _ j: Int) -> Double {
            var s = 0.0
            for k in 0..<d { s += a[i * d + k] * b[j * d + k] }
            return s
        }
        var overlap = [Double](repeating: 0, count: d), band = overlap
        for i in 0..<d {
            overlap[i] = abs(dot(i, i))
            var e = 0.0
            for j in max(0, i - h)...min(d - 1, i + h) { let p = dot(i, j); e += p * p }
            band[i] = e
        }
        let vals = total.values
        let maxAbs = max(vals.map(abs).max() ?? 0, .leastNormalMagnitude)
        var gaps = [Double](repeating: 0, count: d)
        for i in 0..<(d - 1) { gaps[i] = (vals[i] - vals[i + 1]) / max(abs(vals[i]), .leastNormalMagnitude) }
        var groups: [[Int]] = []
        var start = 0
        for i in 1...d {
            let floor = 100 * Double.ulpOfOne * maxAbs
            if i == d || abs(vals[i] - vals[i - 1]) > max(degeneracyTolerance * abs(vals[i - 1]), floor) {
                if i - start > 1 { groups.append([start, i - start]) }
                start = i
            }
        }
        let nullDim = vals.filter { abs($0) <= nullTolerance * maxAbs }.count
        let se = (0..<d).map { abs(halfA.values[$0] - halfB.values[$0]) / 2 }
        // Trace and its standard error from per-chunk traces (chunks are iid units).
        let n = chunkNetworks.reduce(0, +)
        let traceMean = chunkTrace.reduce(0, +) / Double(n)
        var variance = 0.0
        for (t, m) in zip(chunkTrace, chunkNetworks) { let r = t - Double(m) * traceMean; variance += r * r }
        let chunks = Double(chunkTrace.count)
        let traceSE = chunks > 1 ? (variance / (chunks - 1) * chunks).squareRoot() / Double(n) : 0
        let w = chunkWeight.reduce(0, +), w2 = chunkWeightSquared.reduce(0, +)
        return StabilityDiagnostics(perRankOverlap: overlap, bandOverlap: band, bandHalfWidth: h, relativeEigengaps: gaps,
                                    eigenvalueStandardErrors: se, degenerateGroups: groups, degeneracyTolerance: degeneracyTolerance,
                                    nullSpaceDimension: nullDim, nullTolerance: nullTolerance, trace: traceMean,
                                    traceStandardError: traceSE, effectiveSampleSizeFraction: w2 > 0 ? w * w / (Double(n) * w2) : 1,
                                    networks: n, networksPerHalf: networksPerHalf)
    }

    /// A one-screen summary.
    public func summary(values: [Double], indices: [Int]) -> String {
        var lines: [String] = []
        lines.append(String(format: "networks %d (halves %d + %d), effective sample size %.2f%%", networks,
                            networksPerHalf[0], networksPerHalf[1], 100 * effectiveSampleSizeFraction))
        lines.append(String(format: "trace %.4g ± %.2g (SE), λ_max %.4g, λ_min %.4g", trace, traceStandardError,
                            values.first ?? 0, values.last ?? 0))
        lines.append("degenerate groups: \(degenerateGroups.count)\(degenerateGroups.isEmpty ? "" : " (first: \(degenerateGroups.prefix(4).map { "#\($0[0])×\($0[1])" }.joined(separator: ", ")))"), null space: \(nullSpaceDimension)")
        lines.append("  SAD   eigenvalue      ± SE   overlap  band(h=\(bandHalfWidth))  stable")
        for i in indices where i < values.count {
            var line = String(format: "  %3d  %10.4g  %8.2g   %6.3f   %6.3f     %@", i, values[i], eigenvalueStandardErrors[i],
                              perRankOverlap[i], bandOverlap[i], isStable(i) ? "yes" : "no")
            if let g = group(containing: i) { line += "  (in degenerate group #\(g[0])×\(g[1]): only the subspace is defined)" }
            lines.append(line)
        }
        let stable = (0..<values.count).filter(isStable).count
        lines.append("stable SADs (overlap ≥ 0.9 or band ≥ 0.95): \(stable) of \(values.count)")
        return lines.joined(separator: "\n")
    }
}
