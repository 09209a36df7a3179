import Foundation
import Tensors

/// How trustworthy each SAD is. SADs are eigenvectors of a Monte-Carlo estimate: a vector is
/// only meaningful if an independent half of the networks gives the same one, and inside a
/// (near-)degenerate eigenvalue group only the subspace is defined.
///
/// A SAD counts as stable when its vector (per-rank overlap ≥ 0.9), its band (≥ 0.95) or —
/// inside a group — the group's subspace (mean squared cosine ≥ 0.95) is reproduced by the
/// other half.
public struct StabilityDiagnostics: Codable, Sendable {
    /// |u_i·v_i| between the SADs of the two halves (even and odd chunks). In a factored
    /// estimate, that of the spatial factor's vectors (the D-space vectors P_g u are a
    /// canonical choice inside each replicated group).
    public var perRankOverlap: [Double]
    /// Paper Eq. 30: ‖V_{a:b}V_{a:b}ᵀ u_i‖² with the window a…b of 2h + 1 ranks centred on i
    /// (ranks of the spatial factor in a factored estimate: 2h + 1 whole groups).
    public var bandOverlap: [Double]
    /// h. By default it grows with the dimension, h = max(1, round(n/256)) for n ranks, so the
    /// window's random baseline (2h + 1)/n stays ≈ 1.2 %: the paper's h = 1 at D = 256.
    public var bandHalfWidth: Int
    /// (λ_i − λ_{i+1})/λ_i (the last entry is 0; 0 inside a replicated group).
    public var relativeEigengaps: [Double]
    /// Standard error of each eigenvalue from the two halves: |λ_i^A − λ_i^B|/2.
    public var eigenvalueStandardErrors: [Double]
    /// Groups of consecutive eigenvalues equal to within max(degeneracyTolerance·|λ|,
    /// the Float64 rounding floor 100·ε·λ_max): [first, size]. Exact multiplicities (the
    /// untrained DiT's p²C-fold groups, a factored estimate's replicated groups) show up here;
    /// Monte-Carlo near-degeneracies do not (they are in ``groups`` as `unresolved`).
    public var degenerateGroups: [[Int]]
    public var degeneracyTolerance: Double
    /// Every group whose vectors are defined only up to a rotation within it, with the split
    /// halves' subspace overlap.
    public var groups: [Group]
    /// Each eigenvalue's exact multiplicity from the architecture's structure (1: none known;
    /// C for a factored U-Net estimate, p²C for a factored DiT).
    public var replication: Int
    /// Eigenvalues with |λ| ≤ nullTolerance·λ_max (rounding level of a Float64 eigensolver).
    public var nullSpaceDimension: Int
    public var nullTolerance: Double
    public var trace: Double
    public var traceStandardError: Double
    /// (Σw)²/(N Σw²) of the estimator weights: the fraction of networks that effectively count.
    public var effectiveSampleSizeFraction: Double
    public var networks: Int
    public var networksPerHalf: [Int]

    /// Ranks whose vectors only span a subspace together.
    public struct Group: Codable, Sendable, Equatable {
        public var first: Int
        public var size: Int
        /// `replicated` (the architecture's exact structure), `exact` (equal eigenvalues) or
        /// `unresolved` (eigenvalue gaps below the split-half noise, at most
        /// ``maxUnresolvedGroup`` ranks).
        public var kind: String
        /// ‖V_Aᵀ V_B‖²_F / size for the group's vectors V_A, V_B of the two halves: the mean
        /// squared cosine of the principal angles (1: the same subspace).
        public var subspaceOverlap: Double
    }

    /// The largest run of noise-unresolved eigenvalues treated as one group: longer runs are a
    /// dense part of the spectrum where the band overlap is the measure.
    public static let maxUnresolvedGroup = 8

    /// Stable: vector overlap ≥ 0.9, band overlap ≥ 0.95, or group subspace overlap ≥ 0.95.
    public func isStable(_ i: Int) -> Bool {
        perRankOverlap[i] >= 0.9 || bandOverlap[i] >= 0.95 || (group(at: i)?.subspaceOverlap ?? 0) >= 0.95
    }

    /// The group containing index i, if any.
    public func group(at i: Int) -> Group? { groups.first { i >= $0.first && i < $0.first + $0.size } }

    /// The exact degenerate group containing index i, if any.
    public func group(containing i: Int) -> [Int]? { degenerateGroups.first { i >= $0[0] && i < $0[0] + $0[1] } }

    /// The default band half-width for n ranks.
    public static func defaultBandHalfWidth(ranks n: Int) -> Int { max(1, Int((Double(n) / 256).rounded())) }

    static func compute(
        total: SymmetricEigen<Double>, halfA: SymmetricEigen<Double>, halfB: SymmetricEigen<Double>,
        chunkTrace: [Double], chunkWeight: [Double], chunkWeightSquared: [Double], chunkNetworks: [Int],
        networksPerHalf: [Int], replication: Int = 1, bandHalfWidth: Int? = nil,
        degeneracyTolerance: Double = 1e-6, nullTolerance: Double = 1000 * Double.ulpOfOne
    ) -> StabilityDiagnostics {
        let n = total.n
        let h = bandHalfWidth ?? defaultBandHalfWidth(ranks: n)
        let a = halfA.vectors, b = halfB.vectors
        // All the cross products u_i·v_j that are needed: the band (|i − j| ≤ h) and the groups.
        func dot(_ i: Int, _ j: Int) -> Double {
            var s = 0.0
            for k in 0..<n { s += a[i * n + k] * b[j * n + k] }
            return s
        }
        var overlap = [Double](repeating: 0, count: n), band = overlap
        for i in 0..<n {
            var e = 0.0
            for j in max(0, i - h)...min(n - 1, i + h) {
                let p = dot(i, j)
                e += p * p
                if j == i { overlap[i] = abs(p) }
            }
            band[i] = e
        }
        let vals = total.values
        let maxAbs = max(vals.map(abs).max() ?? 0, .leastNormalMagnitude)
        var gaps = [Double](repeating: 0, count: n)
        for i in 0..<(n - 1) { gaps[i] = (vals[i] - vals[i + 1]) / max(abs(vals[i]), .leastNormalMagnitude) }
        let se = (0..<n).map { abs(halfA.values[$0] - halfB.values[$0]) / 2 }
        // Exact groups: equal to within the tolerance (or the rounding floor).
        var exact: [[Int]] = []
        var start = 0
        let floor = 100 * Double.ulpOfOne * maxAbs
        for i in 1...n {
            if i == n || abs(vals[i] - vals[i - 1]) > max(degeneracyTolerance * abs(vals[i - 1]), floor) {
                if i - start > 1 { exact.append([start, i - start]) }
                start = i
            }
        }
        // Unresolved groups: consecutive gaps below the two eigenvalues' split-half errors,
        // in runs of 2…maxUnresolvedGroup ranks that contain no exact group.
        var unresolved: [[Int]] = []
        start = 0
        for i in 1...n {
            if i == n || vals[i - 1] - vals[i] >= se[i - 1] + se[i] {
                let size = i - start
                let overlapsExact = exact.contains { $0[0] < i && $0[0] + $0[1] > start }
                if size > 1, size <= maxUnresolvedGroup, !overlapsExact { unresolved.append([start, size]) }
                start = i
            }
        }
        func subspace(_ first: Int, _ size: Int) -> Double {
            var s = 0.0
            for i in first..<(first + size) {
                for j in first..<(first + size) {
                    let p = dot(i, j)
                    s += p * p
                }
            }
            return s / Double(size)
        }
        var groups =
            exact.map { Group(first: $0[0], size: $0[1], kind: "exact", subspaceOverlap: subspace($0[0], $0[1])) }
            + unresolved.map {
                Group(first: $0[0], size: $0[1], kind: "unresolved", subspaceOverlap: subspace($0[0], $0[1]))
            }
        groups.sort { $0.first < $1.first }
        let nullDim = vals.filter { abs($0) <= nullTolerance * maxAbs }.count
        // Trace and its standard error from per-chunk traces (chunks are iid units).
        let count = chunkNetworks.reduce(0, +)
        let traceMean = chunkTrace.reduce(0, +) / Double(count)
        var variance = 0.0
        for (t, m) in zip(chunkTrace, chunkNetworks) {
            let r = t - Double(m) * traceMean
            variance += r * r
        }
        let chunks = Double(chunkTrace.count)
        let traceSE = chunks > 1 ? (variance / (chunks - 1) * chunks).squareRoot() / Double(count) : 0
        let w = chunkWeight.reduce(0, +), w2 = chunkWeightSquared.reduce(0, +)
        let spatial = StabilityDiagnostics(
            perRankOverlap: overlap, bandOverlap: band, bandHalfWidth: h, relativeEigengaps: gaps,
            eigenvalueStandardErrors: se, degenerateGroups: exact, degeneracyTolerance: degeneracyTolerance,
            groups: groups, replication: 1, nullSpaceDimension: nullDim, nullTolerance: nullTolerance,
            trace: traceMean, traceStandardError: traceSE,
            effectiveSampleSizeFraction: w2 > 0 ? w * w / (Double(count) * w2) : 1, networks: count,
            networksPerHalf: networksPerHalf)
        return replication > 1 ? spatial.replicated(replication) : spatial
    }

    /// The diagnostics of a factored estimate in D-space: every rank of the spatial factor
    /// becomes an exactly `r`-fold group whose subspace overlap is that of its spatial vector,
    /// u·v squared (the overlap of {P_g u} with {P_g v}), or of its spatial group.
    func replicated(_ r: Int) -> StabilityDiagnostics {
        func spread<T>(_ x: [T]) -> [T] { x.flatMap { Array(repeating: $0, count: r) } }
        var out = self
        out.replication = r
        out.perRankOverlap = spread(perRankOverlap)
        out.bandOverlap = spread(bandOverlap)
        out.eigenvalueStandardErrors = spread(eigenvalueStandardErrors)
        out.relativeEigengaps = relativeEigengaps.flatMap { Array(repeating: 0, count: r - 1) + [$0] }
        out.nullSpaceDimension = nullSpaceDimension * r
        var expanded: [Group] = []
        var exact: [[Int]] = []
        var k = 0
        let ranks = perRankOverlap.count
        while k < ranks {
            if let g = group(at: k), g.first == k {
                expanded.append(Group(first: k * r, size: g.size * r, kind: g.kind, subspaceOverlap: g.subspaceOverlap))
                // An unresolved spatial group is still made of exact r-fold eigenvalues.
                exact += g.kind == "exact" ? [[k * r, g.size * r]] : (k..<(k + g.size)).map { [$0 * r, r] }
                k += g.size
            } else {
                expanded.append(
                    Group(
                        first: k * r, size: r, kind: "replicated",
                        subspaceOverlap: perRankOverlap[k] * perRankOverlap[k]))
                exact.append([k * r, r])
                k += 1
            }
        }
        out.groups = expanded
        out.degenerateGroups = exact
        return out
    }

    /// A one-screen summary.
    public func summary(values: [Double], indices: [Int]) -> String {
        var lines: [String] = []
        lines.append(
            String(
                format: "networks %d (halves %d + %d), effective sample size %.2f%%", networks,
                networksPerHalf[0], networksPerHalf[1], 100 * effectiveSampleSizeFraction))
        lines.append(
            String(
                format: "trace %.4g ± %.2g (SE), λ_max %.4g, λ_min %.4g", trace, traceStandardError,
                values.first ?? 0, values.last ?? 0))
        if replication > 1 {
            lines.append(
                "structure: factored, G = Σ_g P_g K P_gᵀ over \(replication) replicated output features: every "
                    + "eigenvalue is exactly \(replication)-fold, and each SAD is defined only up to a rotation within "
                    + "its \(replication)-fold group (stability below is the group's subspace)")
        }
        let others = groups.filter { $0.kind != "replicated" }
        let shown = others.prefix(4).map { "#\($0.first)×\($0.size) \($0.kind)" }.joined(separator: ", ")
        lines.append(
            "groups defined only as subspaces: \(others.count)\(others.isEmpty ? "" : " (first: \(shown))")"
                + (replication > 1 ? " besides the \(replication)-fold ones" : "")
                + ", null space: \(nullSpaceDimension)")
        lines.append(
            String(
                format: "band window ±%d ranks%@ (random baseline %.2g)", bandHalfWidth,
                replication > 1 ? " of K (whole groups)" : "",
                Double(2 * bandHalfWidth + 1) / Double(max(1, perRankOverlap.count / replication))))
        lines.append("  SAD   eigenvalue      ± SE   overlap  band(h=\(bandHalfWidth))  subspace  stable")
        for i in indices where i < values.count {
            let g = group(at: i)
            var line = String(
                format: "  %3d  %10.4g  %8.2g   %6.3f   %6.3f     %@   %@", i, values[i], eigenvalueStandardErrors[i],
                perRankOverlap[i], bandOverlap[i], g.map { String(format: "%6.3f", $0.subspaceOverlap) } ?? "     –",
                isStable(i) ? "yes" : "no")
            if let g { line += "  (group #\(g.first)×\(g.size) \(g.kind): only the subspace is defined)" }
            lines.append(line)
        }
        let stable = (0..<values.count).filter(isStable).count
        lines.append(
            "stable SADs (overlap ≥ 0.9, band ≥ 0.95 or group subspace ≥ 0.95): \(stable) of \(values.count)")
        return lines.joined(separator: "\n")
    }
}
