import Tensors

/// Alignment between a network geometry G (the SADs) and a data second moment M
/// (Eq. 6 and Theorem 2): α(W) = E[zᵀ G z] with z = W x, i.e. α(W) = tr(G W M Wᵀ).
///
/// With G = U Λ Uᵀ and M = V N Vᵀ (both descending), W_max = U Vᵀ sends the data's
/// top-variance direction to the top SAD and maximises α; W_min = U J Vᵀ (J reverses the
/// columns of V) sends it to the bottom SAD and minimises α (rearrangement inequality;
/// with ties these stay optimal but are not unique).
public struct Alignment {
    public let dimension: Int
    public let network: SymmetricEigen<Double>  // G: rows = SADs, descending
    public let data: SymmetricEigen<Double>  // M: rows = data eigenvectors, descending
    public let g: [Double]  // (D, D)
    public let m: [Double]  // (D, D)

    public init(networkGeometry g: [Double], dataSecondMoment m: [Double], dimension d: Int) throws {
        precondition(g.count == d * d && m.count == d * d)
        self.dimension = d
        self.g = g
        self.m = m
        network = try SymmetricEigen<Double>(symmetric: g, n: d)
        data = try SymmetricEigen<Double>(symmetric: m, n: d)
    }

    /// W_max = U Vᵀ (row-major D×D): W[i][j] = Σ_k U[k]_i V[k]_j with U[k], V[k] the k-th rows.
    public var wMax: [Double] { Self.product(network.vectors, data.vectors, n: dimension) }

    /// W_min = U J Vᵀ: SAD k is paired with data eigenvector D − 1 − k.
    public var wMin: [Double] {
        let d = dimension
        var reversed = [Double](repeating: 0, count: d * d)
        for k in 0..<d { for j in 0..<d { reversed[k * d + j] = data.vectors[(d - 1 - k) * d + j] } }
        return Self.product(network.vectors, reversed, n: d)
    }

    static func product(_ u: [Double], _ v: [Double], n: Int) -> [Double] {
        var w = [Double](repeating: 0, count: n * n)
        u.withUnsafeBufferPointer { pu in
            v.withUnsafeBufferPointer { pv in
                w.withUnsafeMutableBufferPointer { pw in
                    BLAS.dgemm(
                        .transpose, .none, m: n, n: n, k: n, a: pu.baseAddress!, lda: n, b: pv.baseAddress!, ldb: n,
                        c: pw.baseAddress!, ldc: n)
                }
            }
        }
        return w
    }

    /// α(W) = tr(G W M Wᵀ); `nil` is the identity (α(I) = tr(G M)).
    public func alpha(_ w: [Double]?) -> Double {
        let d = dimension
        guard let w else {
            var s = 0.0
            for i in 0..<(d * d) { s += g[i] * m[i] }  // tr(G M) = Σ G_ij M_ji, both symmetric
            return s
        }
        // P = W M, then α = Σ_ij (G W)_ij · (W M)... computed as tr(G (W M Wᵀ)) = Σ_ij G_ij (W M Wᵀ)_ij.
        var wm = [Double](repeating: 0, count: d * d), wmwt = wm
        w.withUnsafeBufferPointer { pw in
            m.withUnsafeBufferPointer { pm in
                wm.withUnsafeMutableBufferPointer { out in
                    BLAS.dgemm(
                        .none, .none, m: d, n: d, k: d, a: pw.baseAddress!, lda: d, b: pm.baseAddress!, ldb: d,
                        c: out.baseAddress!, ldc: d)
                }
            }
        }
        wm.withUnsafeBufferPointer { pwm in
            w.withUnsafeBufferPointer { pw in
                wmwt.withUnsafeMutableBufferPointer { out in
                    BLAS.dgemm(
                        .none, .transpose, m: d, n: d, k: d, a: pwm.baseAddress!, lda: d, b: pw.baseAddress!, ldb: d,
                        c: out.baseAddress!, ldc: d)
                }
            }
        }
        var s = 0.0
        for i in 0..<(d * d) { s += g[i] * wmwt[i] }
        return s
    }

    /// Theorem 2's closed forms: α(W_max) = Σ λ_i ν_i, α(W_min) = Σ λ_i ν_{D+1−i}.
    public var alphaBounds: (min: Double, max: Double) {
        let l = network.values, v = data.values, d = dimension
        var lo = 0.0, hi = 0.0
        for i in 0..<d { hi += l[i] * v[i]; lo += l[i] * v[d - 1 - i] }
        return (lo, hi)
    }
}

/// SAD similarity across two geometries (Eq. 30): for eigenvector k of `a`, the energy of
/// its projection on eigenvectors k − h … k + h of `b`. A random unit vector scores
/// (2h + 1)/D on average; 1 means v_k lies in b's window.
public func windowedProjectionEnergy(
    _ a: SymmetricEigen<Double>, _ b: SymmetricEigen<Double>, halfWidth h: Int = 1
) -> [Double] {
    let d = a.n
    var c = [Double](repeating: 0, count: d * d)  // c[i][j] = a_i · b_j
    a.vectors.withUnsafeBufferPointer { pa in
        b.vectors.withUnsafeBufferPointer { pb in
            c.withUnsafeMutableBufferPointer { out in
                BLAS.dgemm(
                    .none, .transpose, m: d, n: d, k: d, a: pa.baseAddress!, lda: d, b: pb.baseAddress!, ldb: d,
                    c: out.baseAddress!, ldc: d)
            }
        }
    }
    return (0..<d).map { k in
        var e = 0.0
        for j in max(0, k - h)...min(d - 1, k + h) { e += c[k * d + j] * c[k * d + j] }
        return e
    }
}
