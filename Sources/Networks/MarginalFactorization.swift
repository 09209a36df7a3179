import Formats

/// The output-layer marginal in factored form: the structure that makes image-scale geometry
/// cheap (docs/GEOMETRY.md, "Factored geometry", has the proof).
///
/// When the last layer's weights (and biases) are iid zero-mean across its output features as
/// well as within them — the reference U-Net's output conv, the DiT's final linear, and any
/// imported network whose output layer passes ``OutputLayerMarginalizable``'s test — two
/// identities hold for every network, given the layer's input h:
///
/// 1. **Replication.** E_W[ε̂ε̂ᵀ | h] = Σ_g P_g K P_gᵀ: one and the same M×M block K for every
///    output feature g (a channel of the U-Net, one of the DiT's p²C patch features), placed at
///    the D-indices `layout[g·M + m]`. Its eigenvalues are K's, each exactly `groups`-fold; its
///    eigenvectors are P_g u for the eigenvectors u of K, defined only up to a rotation within
///    each group.
/// 2. **Feature Gram.** K is linear in H = Σ_c h_c h_cᵀ, the Gram of h over its positions:
///    * conv (kernel offsets δ, stride s, padding p): K[P, Q] = σ_w² Σ_δ H[P·s + δ − p, Q·s + δ − p]
///      + σ_b², the taps that fall outside the image dropped;
///    * linear on the last axis: K = σ_w² H + σ_b² 11ᵀ.
///
/// So the expectation E[K] follows from E[H] through a fixed linear map: the estimator
/// accumulates H (rank = channels of h per network: 32 for the U-Net instead of 9·32 + 1 rows
/// of D) and applies ``kernel(featureGram:biasScale:)`` once at the end.
public struct MarginalFactorization: Codable, Sendable, Equatable {
    /// The output layer's geometry.
    public enum Layer: Codable, Sendable, Equatable {
        /// 2-D convolution from `input` [H, W] to `output` [H′, W′] positions.
        case conv(input: [Int], output: [Int], kernel: [Int], stride: Int, padding: Int)
        /// A linear map on the last axis, over `positions` tokens.
        case linear(positions: Int)
    }

    public let layer: Layer
    /// Output features whose blocks are replicated (C for a conv, p²C for the DiT).
    public let groups: Int
    /// Variances of one weight and one bias element (0: no bias or a zero one).
    public let weightVariance: Double
    public let biasVariance: Double
    /// D-index of (feature g, position m) at g·M + m; nil when it is g·M + m itself (a conv
    /// writing ε̂ in its own (C, H, W) layout).
    public let layout: [Int32]?

    public init(layer: Layer, groups: Int, weightVariance: Double, biasVariance: Double, layout: [Int32]?) {
        self.layer = layer
        self.groups = groups
        self.weightVariance = weightVariance
        self.biasVariance = biasVariance
        self.layout = layout.flatMap { l in l.enumerated().allSatisfy { Int($0.element) == $0.offset } ? nil : l }
    }

    /// M: output positions per feature (the side of K).
    public var positions: Int {
        switch layer {
        case let .conv(_, output, _, _, _): return output[0] * output[1]
        case let .linear(positions): return positions
        }
    }

    /// Positions of h (the side of H).
    public var featurePositions: Int {
        switch layer {
        case let .conv(input, _, _, _, _): return input[0] * input[1]
        case let .linear(positions): return positions
        }
    }

    /// D = groups · M.
    public var dimension: Int { groups * positions }

    /// The D-index of position m of feature g.
    @inline(__always) public func index(group g: Int, position m: Int) -> Int {
        layout.map { Int($0[g * positions + m]) } ?? g * positions + m
    }

    /// The input positions a conv output position P reads at each kernel offset (−1 outside
    /// the image), offset-major: (offsets, M). For a linear layer, the identity.
    public func taps() -> (offsets: Int, inputOf: [Int]) {
        switch layer {
        case let .conv(input, output, kernel, stride, padding):
            let offsets = kernel[0] * kernel[1]
            var map = [Int](repeating: -1, count: offsets * output[0] * output[1])
            for dy in 0..<kernel[0] {
                for dx in 0..<kernel[1] {
                    let o = dy * kernel[1] + dx
                    for oy in 0..<output[0] {
                        for ox in 0..<output[1] {
                            let y = oy * stride + dy - padding, x = ox * stride + dx - padding
                            guard y >= 0, y < input[0], x >= 0, x < input[1] else { continue }
                            map[(o * output[0] + oy) * output[1] + ox] = y * input[1] + x
                        }
                    }
                }
            }
            return (offsets, map)
        case let .linear(positions):
            return (1, Array(0..<positions))
        }
    }

    /// K (M×M, full symmetric, row-major) from the mean feature Gram H (F×F, upper triangle
    /// read). `biasScale` multiplies the bias term: the estimator's mean factor² (c_T), which
    /// scales every row of a network alike.
    ///
    /// The sums run in a fixed order, so K is a deterministic function of H.
    public func kernel(featureGram h: [Double], biasScale: Double) -> [Double] {
        let m = positions, f = featurePositions
        precondition(h.count == f * f, "feature Gram of \(h.count) entries for F = \(f)")
        let (offsets, inputOf) = taps()
        var k = [Double](repeating: biasVariance * biasScale, count: m * m)
        k.withUnsafeMutableBufferPointer { kp in
            h.withUnsafeBufferPointer { hp in
                for o in 0..<offsets {
                    let map = o * m
                    for p in 0..<m {
                        let a = inputOf[map + p]
                        guard a >= 0 else { continue }
                        for q in p..<m {
                            let b = inputOf[map + q]
                            guard b >= 0 else { continue }
                            kp[p * m + q] += weightVariance * (a <= b ? hp[a * f + b] : hp[b * f + a])
                        }
                    }
                }
                for p in 0..<m { for q in (p + 1)..<m { kp[q * m + p] = kp[p * m + q] } }
            }
        }
        return k
    }

    /// How often each position of h is read, over all output positions and offsets: the trace
    /// of K is σ_w² Σ_a w_a H[a, a] + σ_b² M.
    public func traceWeights() -> [Double] {
        let (_, inputOf) = taps()
        var w = [Double](repeating: 0, count: featurePositions)
        for a in inputOf where a >= 0 { w[a] += 1 }
        return w
    }

    /// Checks a factorization read from a file (untrusted) against the D it must describe.
    public func validate(dimension d: Int, file: String, field: String) throws {
        func fail(_ expected: String, _ found: Any) -> FormatError {
            FormatError(file: file, field: field, expected: expected, found: "\(found)")
        }
        guard (1...65_536).contains(groups) else { throw fail("groups in 1…65536", groups) }
        guard weightVariance.isFinite, weightVariance > 0, biasVariance.isFinite, biasVariance >= 0 else {
            throw fail("finite variances (weight > 0, bias ≥ 0)", "\(weightVariance), \(biasVariance)")
        }
        switch layer {
        case let .conv(input, output, kernel, stride, padding):
            guard input.count == 2, output.count == 2, kernel.count == 2,
                (input + output + kernel).allSatisfy({ (1...4096).contains($0) }), (1...64).contains(stride),
                (0...64).contains(padding)
            else { throw fail("a 2-D conv with sides in 1…4096", layer) }
            for axis in 0..<2 where (input[axis] + 2 * padding - kernel[axis]) / stride + 1 != output[axis] {
                throw fail("output side (in + 2p − k)/s + 1", layer)
            }
            guard input[0] * input[1] <= 65_536 else { throw fail("at most 65536 feature positions", layer) }
        case let .linear(positions):
            guard (1...65_536).contains(positions) else { throw fail("1…65536 positions", positions) }
        }
        guard groups * positions == d else { throw fail("groups × positions = D = \(d)", "\(groups) × \(positions)") }
        if let layout {
            guard layout.count == d else { throw fail("a layout of \(d) indices", layout.count) }
            var seen = [Bool](repeating: false, count: d)
            for v in layout {
                guard v >= 0, Int(v) < d, !seen[Int(v)] else { throw fail("a permutation of 0..<\(d)", v) }
                seen[Int(v)] = true
            }
        }
    }
}
