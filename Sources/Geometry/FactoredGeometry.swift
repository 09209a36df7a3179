import Diffusion
import Networks
import Tensors

/// From the factored accumulator to G: K from the feature Gram, and the D-space expansion
/// G = Σ_g P_g K P_gᵀ of K and of its eigendecomposition (see ``MarginalFactorization``).
extension MarginalFactorization {
    /// G (D×D, row-major) from K (M×M).
    public func expand(kernel k: [Double]) -> [Double] {
        let m = positions, d = dimension
        var g = [Double](repeating: 0, count: d * d)
        for group in 0..<groups {
            for p in 0..<m {
                let row = index(group: group, position: p) * d
                for q in 0..<m { g[row + index(group: group, position: q)] = k[p * m + q] }
            }
        }
        return g
    }

    /// The eigendecomposition of G from K's: eigenvalue k of K once per group (descending,
    /// group-minor: D-rank k·groups + g), its vector P_g u_k.
    public func expand(eigen e: SymmetricEigen<Double>) -> SymmetricEigen<Double> {
        let m = positions, d = dimension
        var values = [Double](repeating: 0, count: d)
        var vectors = [Double](repeating: 0, count: d * d)
        for k in 0..<m {
            for g in 0..<groups {
                let r = k * groups + g
                values[r] = e.values[k]
                for p in 0..<m { vectors[r * d + index(group: g, position: p)] = e.vectors[k * m + p] }
            }
        }
        return SymmetricEigen(values: values, vectors: vectors)
    }
}

extension GeometryState {
    /// The mean of the factored accumulator (half 0, 1 or both) as K (M×M); for a full run, G.
    /// Averaged over the spec's grid symmetry where it has one.
    public func kernelMean(half: Int? = nil) -> [Double] {
        let k = unsymmetrizedKernelMean(half: half)
        guard let symmetry = spec.symmetry else { return k }
        let planes = spec.factorization == nil ? spec.shape[0] : 1
        return symmetry.average(k, channels: planes, height: spec.shape[1], width: spec.shape[2])
    }

    private func unsymmetrizedKernelMean(half: Int?) -> [Double] {
        let mean = accumulator.mean(half: half)
        guard let f = spec.factorization, spec.estimator == Estimator.marginal.rawValue else { return mean }
        // The rows were scaled by √c (c_T, or the band's own mean 1/σ_t² with a timestep band);
        // the bias term is added here with the same factor.
        let c = spec.timestepSampler(.marginal).meanInverseVariance
        return f.kernel(featureGram: mean, biasScale: c)
    }

    /// The mean geometry G (D×D) of half 0, 1 or both, whatever the structure.
    public func geometryMean(half: Int? = nil) -> [Double] {
        let k = kernelMean(half: half)
        return spec.factorization?.expand(kernel: k) ?? k
    }
}
