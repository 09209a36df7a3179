import Networks
import Tensors

/// The eigendecomposition of a matrix invariant under an involution π of its indices
/// (K[π p, π q] = K[p, q], as a symmetry-averaged estimate is bit for bit) as two problems of
/// about half the size: in the basis of symmetric vectors (e_p + e_πp)/√2 and e_f (π f = f)
/// and antisymmetric ones (e_p − e_πp)/√2, K is block diagonal, so its eigenvectors are those
/// of the two blocks mapped back — each exactly symmetric or antisymmetric under π. Two
/// decompositions of n/2 cost about a quarter of one of n (the eigensolver is O(n³)).
struct InvolutionSplit: Sendable {
    let n: Int
    /// (p, π p) with p < π p: one symmetric and one antisymmetric basis vector each.
    let pairs: [(Int, Int)]
    /// Fixed indices (π f = f): symmetric basis vectors e_f.
    let fixed: [Int]

    /// `permutation` must be an involution of 0..<n.
    init(permutation pi: [Int]) {
        n = pi.count
        precondition(pi.indices.allSatisfy { pi[pi[$0]] == $0 }, "an involution is required")
        pairs = pi.indices.filter { $0 < pi[$0] }.map { ($0, pi[$0]) }
        fixed = pi.indices.filter { $0 == pi[$0] }
    }

    /// The split of a group's averaged estimate: its element 1 (the transpose, or for
    /// `flips` the row flip) acting on every plane of the K index space.
    init(_ symmetry: SpatialSymmetry, planes: Int, height h: Int, width w: Int) {
        let spatial = symmetry.permutations(height: h, width: w)[1]
        let plane = h * w
        self.init(permutation: (0..<(planes * plane)).map { ($0 / plane) * plane + spatial[$0 % plane] })
    }

    var symmetricSize: Int { pairs.count + fixed.count }

    /// The symmetric block Uₛᵀ K Uₛ (pairs first, then fixed indices) and the antisymmetric
    /// block Uₐᵀ K Uₐ, each row-major, from all four entries of each pair of pairs (the
    /// eigensolver reads one triangle).
    func blocks(_ k: [Double]) -> (symmetric: [Double], antisymmetric: [Double]) {
        let ns = symmetricSize, na = pairs.count
        var s = [Double](repeating: 0, count: ns * ns), a = [Double](repeating: 0, count: na * na)
        // Symmetric basis vector b: weight·(e_first + e_second), second = −1 for a fixed index.
        let first = pairs.map(\.0) + fixed, second = pairs.map(\.1) + fixed.map { _ in -1 }
        let weight = pairs.map { _ in 0.5.squareRoot() } + fixed.map { _ in 1.0 }
        k.withUnsafeBufferPointer { k in
            for i in 0..<ns {
                let (p, q) = (first[i] * n, second[i] * n)
                for j in 0..<ns {
                    let (u, v) = (first[j], second[j])
                    var sum = k[p + u]
                    if v >= 0 { sum += k[p + v] }
                    if q >= 0 {
                        sum += k[q + u]
                        if v >= 0 { sum += k[q + v] }
                    }
                    s[i * ns + j] = weight[i] * weight[j] * sum
                }
            }
            for i in 0..<na {
                let (p, q) = (pairs[i].0 * n, pairs[i].1 * n)
                for j in 0..<na {
                    let (u, v) = pairs[j]
                    a[i * na + j] = 0.5 * ((k[p + u] - k[p + v]) - (k[q + u] - k[q + v]))
                }
            }
        }
        return (s, a)
    }

    /// The eigendecomposition of K (descending; vectors as rows of length n, or none), merged
    /// from the two blocks' (ties in value: the symmetric block's first).
    func eigen(_ k: [Double], vectors: Bool) throws -> SymmetricEigen<Double> {
        let (s, a) = blocks(k)
        let ns = symmetricSize, na = pairs.count
        let parts: [SymmetricEigen<Double>] = try [(s, ns), (a, na)].map { block, size in
            guard size > 0 else { return SymmetricEigen(values: [], vectors: []) }
            guard vectors else {
                return SymmetricEigen(values: try SymmetricEigen<Double>.values(symmetric: block, n: size), vectors: [])
            }
            return try SymmetricEigen<Double>(symmetric: block, n: size)
        }
        // Merge the two descending lists.
        var order: [(part: Int, rank: Int)] = []
        var i = 0, j = 0
        while i < ns || j < na {
            if j == na || (i < ns && parts[0].values[i] >= parts[1].values[j]) {
                order.append((0, i))
                i += 1
            } else {
                order.append((1, j))
                j += 1
            }
        }
        let values = order.map { parts[$0.part].values[$0.rank] }
        guard vectors else { return SymmetricEigen(values: values, vectors: []) }
        let r = 0.5.squareRoot()
        var out = [Double](repeating: 0, count: n * n)
        for (row, o) in order.enumerated() {
            let size = o.part == 0 ? ns : na
            let y = parts[o.part].vectors[(o.rank * size)..<((o.rank + 1) * size)]
            let base = y.startIndex
            for (b, (p, q)) in pairs.enumerated() {
                out[row * n + p] = r * y[base + b]
                out[row * n + q] = (o.part == 0 ? r : -r) * y[base + b]
            }
            if o.part == 0 { for (b, f) in fixed.enumerated() { out[row * n + f] = y[base + na + b] } }
        }
        return SymmetricEigen(values: values, vectors: out)
    }
}
