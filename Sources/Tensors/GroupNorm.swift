import CKernels

/// Group normalisation (`nn.GroupNorm`): x (N, C, *) with C split into `groups` groups of
/// consecutive channels; each (sample, group) is normalised by its own mean and biased
/// variance, then scaled and shifted per channel: y = (x − μ)/√(σ² + eps)·γ_c + β_c.
///
/// Statistics are accumulated in Float64. The output itself is formed the way PyTorch's
/// CPU kernel forms it, in Float32: rstd = 1/√(max(var, 0) + eps) evaluated in Float64 (eps
/// is a double there) and rounded, scale = rstd·γ, shift = fma(−scale, μ, β), and
/// y = fma(scale, x, shift). This matters at the geometry probe x = 0: there the U-Net's
/// first feature maps are exactly constant, GroupNorm sees zero variance and multiplies by
/// 1/√eps ≈ 316, so the *rounding residue* of the affine step is the signal downstream
/// (an input perturbation of 1e-9 moves the output by 3e-4). Forming y as the reference
/// does reproduces its F(0, t) to the fixtures' 1e-4; the textbook (x − μ)/σ·γ + β does
/// not (1e-3). Normal inputs are insensitive to the choice.
/// VJP with x̂ = (x − μ)/σ, g = ∂y·γ:
///   ∂x = (g − mean(g) − x̂·mean(g·x̂))/σ,  ∂γ_c = Σ ∂y·x̂,  ∂β_c = Σ ∂y.
public enum GroupNorm {
    /// Normalised values and per-(sample, group) 1/σ, kept for the backward pass; with the
    /// SiLU fused in, also the group norm's own output (the SiLU's input).
    public struct Saved {
        let xHat: Tensor
        let invStd: [Float]
        var preActivation: Tensor? = nil
    }

    /// The reference's Float32 affine step of one channel (see the type's note): y = fma(scale,
    /// x, shift) with rstd = 1/√(max(var, 0) + eps) in Float64, rounded, scale = rstd·γ and
    /// shift = fma(−scale, μ, β).
    @inline(__always)
    static func affineStep(
        mean: Double, variance: Double, gamma: Float, beta: Float, eps: Double
    )
        -> (scale: Float, shift: Float)
    {
        let rstd = Float(1 / (Double(max(Float(variance), 0)) + eps).squareRoot())
        let scale = rstd * gamma
        return (scale, beta.addingProduct(-scale, Float(mean)))
    }

    /// Per (sample, channel) (scale, shift) of GroupNorm(x): the values
    /// ``forward(_:groups:weight:bias:eps:saving:fusedSiLU:)`` forms its output with (the same
    /// moments kernel and ``affineStep(mean:variance:gamma:beta:eps:)``), so that
    /// SiLU(fma(scale, x, shift)) of a plane is bitwise that op's fused output. Each array
    /// holds N·C values, sample-major.
    public static func affineCoefficients(
        _ x: Tensor, groups: Int, weight: Tensor?, bias: Tensor?, eps: Double = 1e-5
    ) -> (scale: [Float], shift: [Float]) {
        precondition(x.rank >= 2, "groupNorm expects (N, C, …), got \(x.shape)")
        let n = x.shape[0], c = x.shape[1]
        precondition(groups > 0 && c % groups == 0, "groupNorm: \(c) channels not divisible by \(groups) groups")
        let spatial = x.count / max(n * c, 1), channelsPerGroup = c / groups, perGroup = channelsPerGroup * spatial
        let gammas = (0..<c).map { weight?.data[$0] ?? 1 }, betas = (0..<c).map { bias?.data[$0] ?? 0 }
        var scale = [Float](repeating: 0, count: n * c), shift = scale
        x.data.withUnsafeBufferPointer { px in
            scale.withUnsafeMutableBufferPointer { ps in
                shift.withUnsafeMutableBufferPointer { pt in
                    let scaleOut = SharedPointer(ps.baseAddress!), shiftOut = SharedPointer(pt.baseAddress!)
                    // (sample, group) pairs in the same fixed chunks as the forward pass, in parallel.
                    Parallel.forEachChunk(total: n * groups, chunkSize: 8 * groups) { _, range in
                        var means = [Double](repeating: 0, count: range.count), variances = means
                        sad_group_moments(
                            px.baseAddress! + range.lowerBound * perGroup, perGroup, range.count, &means, &variances)
                        for s in range {
                            for k in 0..<channelsPerGroup {
                                let channel = (s % groups) * channelsPerGroup + k, i = s * channelsPerGroup + k
                                (scaleOut.base[i], shiftOut.base[i]) = affineStep(
                                    mean: means[s - range.lowerBound], variance: variances[s - range.lowerBound],
                                    gamma: gammas[channel], beta: betas[channel], eps: eps)
                            }
                        }
                    }
                }
            }
        }
        return (scale, shift)
    }

    /// - Parameters:
    ///   - saving: whether to keep x̂ (and, fused, the pre-activation) for a backward pass
    ///     (skipped for inference).
    ///   - fusedSiLU: return SiLU(GroupNorm(x)) in the same pass over the output (bitwise the
    ///     same as the two ops apart; ``groupNormSiLU(_:groups:weight:bias:eps:)``).
    public static func forward(
        _ x: Tensor, groups: Int, weight: Tensor?, bias: Tensor?, eps: Double = 1e-5,
        saving: Bool = true, fusedSiLU: Bool = false
    ) -> (Tensor, Saved) {
        precondition(x.rank >= 2, "groupNorm expects (N, C, …), got \(x.shape)")
        let n = x.shape[0], c = x.shape[1]
        precondition(groups > 0 && c % groups == 0, "groupNorm: \(c) channels not divisible by \(groups) groups")
        let spatial = x.count / max(n * c, 1)
        let perGroup = (c / groups) * spatial
        var invStd = [Float](repeating: 0, count: n * groups)
        var xHat = Tensor(uninitialized: saving ? x.shape : [0])  // (N, C, *) when saving: every element written
        var y = Tensor(uninitialized: x.shape)  // (N, C, *), every element written
        // (N, C, *): the group norm's output before the SiLU, kept for its backward pass.
        var pre = Tensor(uninitialized: saving && fusedSiLU ? x.shape : [0])
        let channelsPerGroup = c / groups
        let gammas = (0..<c).map { weight?.data[$0] ?? 1 }, betas = (0..<c).map { bias?.data[$0] ?? 0 }
        x.data.withUnsafeBufferPointer { px in
            xHat.data.withUnsafeMutableBufferPointer { ph in
                y.data.withUnsafeMutableBufferPointer { py in
                    pre.data.withUnsafeMutableBufferPointer { ppre in
                        invStd.withUnsafeMutableBufferPointer { pinv in
                            let yOut = SharedPointer(py.baseAddress!), invOut = SharedPointer(pinv.baseAddress!)
                            let hOut = saving ? SharedPointer(ph.baseAddress!) : nil
                            let preOut = saving && fusedSiLU ? SharedPointer(ppre.baseAddress!) : nil
                            // (sample, group) pairs in fixed chunks, in parallel; each writes its own slice.
                            Parallel.forEachChunk(total: n * groups, chunkSize: 8 * groups) { _, range in
                                // Mean and biased variance in Float64, two passes (the second over
                                // deviations, so no cancellation), each with four accumulators
                                // (element i to i mod 4), four groups side by side: one running sum
                                // is a chain of dependent adds and made GroupNorm a tenth of a
                                // batch-1 forward.
                                var means = [Double](repeating: 0, count: range.count)
                                var variances = [Double](repeating: 0, count: range.count)
                                sad_group_moments(
                                    px.baseAddress! + range.lowerBound * perGroup, perGroup, range.count, &means,
                                    &variances)
                                for s in range {
                                    let base = s * perGroup
                                    let mean = means[s - range.lowerBound], variance = variances[s - range.lowerBound]
                                    let inv = 1 / (variance + eps).squareRoot()
                                    invOut.base[s] = Float(inv)
                                    let group = s % groups
                                    for k in 0..<channelsPerGroup {
                                        let channel = group * channelsPerGroup + k
                                        let (scale, shift) = affineStep(
                                            mean: mean, variance: variance, gamma: gammas[channel],
                                            beta: betas[channel], eps: eps)
                                        let offset = base + k * spatial
                                        let src = px.baseAddress! + offset, dst = yOut.base + offset
                                        if fusedSiLU {
                                            sad_affine_silu(
                                                src, spatial, scale, shift, preOut.map { $0.base + offset }, dst)
                                        } else {
                                            for i in 0..<spatial { dst[i] = shift.addingProduct(scale, src[i]) }
                                        }
                                        if let hOut { sad_group_normalize(src, spatial, mean, inv, hOut.base + offset) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (y, Saved(xHat: xHat, invStd: invStd, preActivation: saving && fusedSiLU ? pre : nil))
    }

    /// (∂x, ∂γ, ∂β).
    public static func backward(_ saved: Saved, groups: Int, weight: Tensor?, _ dy: Tensor) -> (Tensor, Tensor, Tensor)
    {
        let shape = saved.xHat.shape
        let n = shape[0], c = shape[1]
        let spatial = saved.xHat.count / max(n * c, 1)
        let perChannelGroup = c / groups
        let gammas = (0..<c).map { Double(weight?.data[$0] ?? 1) }
        var dx = Tensor(uninitialized: shape)
        var sums: [Float] = []
        saved.xHat.data.withUnsafeBufferPointer { ph in
            dy.data.withUnsafeBufferPointer { pg in
                dx.data.withUnsafeMutableBufferPointer { pdx in
                    let out = SharedPointer(pdx.baseAddress!)
                    // Samples in fixed chunks, in parallel; ∂γ, ∂β partials per chunk summed in
                    // chunk order (deterministic for any thread count).
                    sums = Parallel.sumOverChunks(total: n, chunkSize: 8, resultCount: 2 * c) { _, samples, partial in
                        // Per-channel (Σ g, Σ g·x̂) of a sample in Float64, four accumulators per plane
                        // (element i to i mod 4) and four planes side by side: one running sum is
                        // bound by the add latency. The order is fixed, so the result depends only
                        // on the data.
                        var sumsG = [Double](repeating: 0, count: c), sumsGH = sumsG
                        for sample in samples {
                            let first = sample * c * spatial
                            sad_group_gradient_sums(
                                pg.baseAddress! + first, ph.baseAddress! + first, spatial, c, &sumsG, &sumsGH)
                            for group in 0..<groups {
                                let s = sample * groups + group
                                let base = s * perChannelGroup * spatial
                                var meanG = 0.0, meanGH = 0.0
                                for k in 0..<perChannelGroup {
                                    let channel = group * perChannelGroup + k
                                    let gamma = gammas[channel]
                                    let sumG = sumsG[channel], sumGH = sumsGH[channel]
                                    partial[channel] += Float(sumGH)
                                    partial[c + channel] += Float(sumG)
                                    meanG += gamma * sumG
                                    meanGH += gamma * sumGH
                                }
                                let count = Double(perChannelGroup * spatial)
                                meanG /= count
                                meanGH /= count
                                let inv = Double(saved.invStd[s])
                                for k in 0..<perChannelGroup {
                                    let gamma = gammas[group * perChannelGroup + k]
                                    let off = base + k * spatial
                                    sad_group_norm_dx(
                                        pg.baseAddress! + off, ph.baseAddress! + off, spatial, gamma, meanG, meanGH,
                                        inv, out.base + off)
                                }
                            }
                        }
                    }
                }
            }
        }
        return (dx, Tensor(shape: [c], data: Array(sums[0..<c])), Tensor(shape: [c], data: Array(sums[c...])))
    }
}

/// `nn.GroupNorm(groups, C, eps)` with optional affine parameters (C).
public func groupNorm(_ x: Variable, groups: Int, weight: Variable?, bias: Variable?, eps: Double = 1e-5) -> Variable {
    let saving = GradientMode.isRecording && [x, weight, bias].contains { $0?.requiresGradient == true }
    let (y, saved) = GroupNorm.forward(
        x.value, groups: groups, weight: weight?.value, bias: bias?.value, eps: eps, saving: saving)
    let w = weight?.value
    return Variable.recordWithParameters(y, x: x, weight: weight, bias: bias) { dy in
        GroupNorm.backward(saved, groups: groups, weight: w, dy)
    }
}

/// SiLU(GroupNorm(x)) — the U-Net's every normalisation is followed by a SiLU — in one pass
/// over the output: the SiLU input is never written and read back for inference, and is kept
/// once for a backward pass. Forward and gradients are bitwise those of
/// `groupNorm(x, …).silu()` (the same kernels on the same values; tested).
public func groupNormSiLU(
    _ x: Variable, groups: Int, weight: Variable?, bias: Variable?, eps: Double = 1e-5
)
    -> Variable
{
    let saving = GradientMode.isRecording && [x, weight, bias].contains { $0?.requiresGradient == true }
    let (y, saved) = GroupNorm.forward(
        x.value, groups: groups, weight: weight?.value, bias: bias?.value, eps: eps, saving: saving, fusedSiLU: true)
    let w = weight?.value
    return Variable.recordWithParameters(y, x: x, weight: weight, bias: bias) { dy in
        GroupNorm.backward(saved, groups: groups, weight: w, SiLU.backward(saved.preActivation!, dy))
    }
}
