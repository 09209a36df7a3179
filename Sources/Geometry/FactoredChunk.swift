import Diffusion
import Networks
import Tensors

extension GeometryRun {
    /// Rows stacked before one DSYRK: large enough that the update runs at GEMM speed, small
    /// enough that a chunk's rows stay a few tens of MB.
    static let stackedRows = 1024

    /// One chunk of a factored run (``MarginalFactorization``): Σ_n over its networks of the
    /// feature Gram c_T·hᵀh (marginal estimator) or of the block (1/groups)·Σ_g F_g F_gᵀ
    /// (reference, importance), in Float64, upper triangle, plus the D-space statistics.
    ///
    /// The networks' rows are stacked and reduced by one DSYRK per ``stackedRows`` rows: the
    /// order of the networks and the stacking are fixed by the chunk, so the sum is the same
    /// whatever the thread count or shard split.
    static func computeFactoredChunk(
        _ chunk: Int, spec: GeometrySpec, arch: any ScoreArchitecture, scheme: InitScheme,
        estimator: Estimator, sampler: TimestepSampler, probe: PreparedProbe, schedule: NoiseSchedule
    ) throws
        -> (sum: [Double], networks: Int, trace: Double, weight: Double, weightSquared: Double)
    {
        let f = spec.factorization!
        let side = spec.accumulatorDimension, m = f.positions, groups = f.groups
        let first = chunk * spec.chunkSize, last = min(spec.networks, first + spec.chunkSize)
        var sum = [Double](repeating: 0, count: side * side)
        var stacked: [Double] = []  // (rows, side)
        stacked.reserveCapacity(stackedRows * side)
        func flush() {
            let rows = stacked.count / side
            guard rows > 0 else { return }
            stacked.withUnsafeBufferPointer { r in
                sum.withUnsafeMutableBufferPointer { s in
                    BLAS.dsyrk(
                        .transpose, n: side, k: rows, a: r.baseAddress!, lda: side, beta: 1, c: s.baseAddress!,
                        ldc: side)
                }
            }
            stacked.removeAll(keepingCapacity: true)
        }
        let weights = estimator == .marginal ? f.traceWeights() : []
        let m2 = Double(m)
        var trace = 0.0, weight = 0.0, weightSquared = 0.0
        for n in first..<last {
            let index = UInt64(n)
            let (t, factor, w) = sampler.draw(network: index, seed: spec.seed)
            let x = probe.input(network: index, timestep: t, seed: spec.seed, schedule: schedule)
            let net = ScoreNetwork(arch, seed: spec.seed, networkIndex: index, scheme: scheme)
            var tr = 0.0
            if estimator == .marginal, let marginal = arch as? OutputLayerMarginalizable {
                // h (channels, F), scaled by √c_T: H accumulates c_T·Σ_c h_c h_cᵀ.
                let (rows, gram) = try scaledFeatures(
                    marginal, x: x, timestep: t, factor: factor, parameters: net.parameters, scheme: scheme,
                    side: side, weights: weights)
                for r in stride(from: 0, to: rows.count, by: side) {
                    stacked.append(contentsOf: rows[r..<(r + side)])
                    if stacked.count >= stackedRows * side { flush() }
                }
                // tr(G_n) = groups · tr(K_n) = groups · (σ_w² Σ_a w_a H_aa + σ_b² c_T M).
                tr = Double(groups) * (f.weightVariance * gram + f.biasVariance * factor * factor * m2)
            } else {
                // F = ε̂/σ_t (reference, as geometry.py) or √c_T·ε̂; its feature blocks F_g
                // (positions in ε̂ by the layout) are rows scaled by 1/√groups.
                let eps = net.epsilon(x, timesteps: [Float(t)])
                let sigma = schedule.sqrtOneMinusAlphasCumprod[t]
                let scale = 1 / Double(groups).squareRoot()
                for g in 0..<groups {
                    for p in 0..<m {
                        let e = eps.data[f.index(group: g, position: p)]
                        let v = estimator == .reference ? Double(e / sigma) : Double(e) * factor
                        tr += v * v
                        stacked.append(v * scale)
                    }
                    if stacked.count >= stackedRows * side { flush() }
                }
            }
            trace += tr
            weight += w
            weightSquared += w * w
        }
        flush()
        return (sum, last - first, trace, weight, weightSquared)
    }

    /// One network's output-layer features h (channels, F) as Float64 rows scaled by the
    /// estimator factor, and Σ_c Σ_a w_a·v² with the trace weights w of the factorization.
    static func scaledFeatures(
        _ marginal: OutputLayerMarginalizable, x: Tensor, timestep t: Int, factor: Double, parameters: ParameterSet,
        scheme: InitScheme, side: Int, weights: [Double]
    ) throws -> (rows: [Double], gram: Double) {
        let h = try marginal.marginalFeatures(x, timestep: Float(t), parameters: parameters, scheme: scheme)
        guard h.rank == 2, h.shape[1] == side else {
            throw MarginalUnavailable(reason: "output-layer features \(h.shape), expected (channels, \(side))")
        }
        var rows = [Double](repeating: 0, count: h.count)
        var gram = 0.0
        for c in 0..<h.shape[0] {
            for a in 0..<side {
                let v = Double(h.data[c * side + a]) * factor
                rows[c * side + a] = v
                gram += weights[a] * v * v
            }
        }
        return (rows, gram)
    }
}
