import Tensors

/// Rao–Blackwellisation of the output layer (paper Props 2–3).
///
/// If the last layer is z = W·h + b with W and b independent of the features h, zero-mean,
/// iid within each group (true at the reference init of the U-Net's output conv and of the
/// DiT's final linear), then given h
///   E_{W,b}[z zᵀ | h] = Rᵀ R
/// for a matrix of rows R computable from h alone. Summing RᵀR per network instead of the
/// rank-one ε̂ε̂ᵀ has the same expectation and far less variance.
///
/// * Conv k×k, C_in → C_out, weights and biases U(±β) (variance σ² = β²/3): output channel o
///   is Σ_{c,k} W_{o,c,k} h_c(p + k) + b_o, so Cov(z_{o,p}, z_{o',q}) = δ_{oo'}(σ_w² Σ_{c,k}
///   h_c(p + k) h_c(q + k) + σ_b²). Rows: for every output channel, σ_w·(each im2col row of h)
///   and σ_b·1, placed in that channel's block of pixels.
/// * Per-token linear E → F (DiT), weights iid variance σ_w², zero bias: Cov(z_{i,a}, z_{j,b}) =
///   δ_{ab} σ_w² u_i·u_j. Rows: for every (a, e), σ_w·u_{·,e} placed at the pixels of feature a.
public protocol OutputLayerMarginalizable: ScoreArchitecture {
    /// R (r, D) for a single input x (1, C, H, W) at timestep t. Throws when the scheme does
    /// not make the output layer iid zero-mean (zero-init, symmetric).
    func marginalRows(_ x: Tensor, timestep: Float, parameters: ParameterSet, scheme: InitScheme) throws -> Tensor

    /// The factored form of the same marginal (``MarginalFactorization``), or nil when the
    /// output layer's features are not replicated for this scheme.
    func marginalFactorization(scheme: InitScheme) -> MarginalFactorization?

    /// The output layer's input h for a single input x (1, C, H, W) as (channels, F): the
    /// rows whose Gram hᵀh is the factored estimator's feature Gram H.
    func marginalFeatures(_ x: Tensor, timestep: Float, parameters: ParameterSet, scheme: InitScheme) throws -> Tensor
}

/// The output-layer marginal does not apply.
public struct MarginalUnavailable: Error, CustomStringConvertible {
    public let reason: String
    public var description: String { reason }

    public init(reason: String) { self.reason = reason }

    /// Only the reference init draws the output layer iid and zero-mean (zero-init zeroes it,
    /// symmetric averages its kernels).
    public static func requireReference(_ scheme: InitScheme) throws {
        guard scheme == .reference else {
            throw MarginalUnavailable(
                reason:
                    "the marginal estimator needs the output layer's iid zero-mean reference init; "
                    + "scheme '\(scheme)' is not"
            )
        }
    }
}

extension UNet: OutputLayerMarginalizable {
    /// The output conv 3×3, stride 1, padding 1, base → C channels; weight and bias U(±1/√fan_in).
    public func marginalFactorization(scheme: InitScheme) -> MarginalFactorization? {
        guard scheme == .reference else { return nil }
        let side = [inputShape[1], inputShape[2]]
        let variance = 1 / (3 * Double(config.baseChannels * 9))
        return MarginalFactorization(
            layer: .conv(input: side, output: side, kernel: [3, 3], stride: 1, padding: 1), groups: inputShape[0],
            weightVariance: variance, biasVariance: variance, layout: nil)
    }

    public func marginalFeatures(
        _ x: Tensor, timestep: Float, parameters: ParameterSet, scheme: InitScheme
    ) throws -> Tensor {
        try MarginalUnavailable.requireReference(scheme)
        let f = GradientMode.withoutGradients {
            features(
                Variable(x), timesteps: [timestep], parameters: ParameterBindings(parameters, requiringGradients: false)
            ).value
        }  // (1, 32, H, W)
        return f.reshaped([f.shape[1], f.shape[2] * f.shape[3]])  // (32, HW)
    }

    public func marginalRows(
        _ x: Tensor, timestep: Float, parameters: ParameterSet, scheme: InitScheme
    ) throws -> Tensor {
        let f = try marginalFeatures(x, timestep: timestep, parameters: parameters, scheme: scheme)
            .reshaped([1, config.baseChannels, inputShape[1], inputShape[2]])  // (1, 32, H, W)
        let c = inputShape[0], hw = inputShape[1] * inputShape[2], base = config.baseChannels
        let geometry = Conv2d.Geometry(input: f.shape, weight: [c, base, 3, 3], stride: 1, padding: 1)
        var cols = [Float](repeating: 0, count: geometry.patch * hw)  // (C·9, HW)
        f.data.withUnsafeBufferPointer { pf in
            cols.withUnsafeMutableBufferPointer { pc in Conv2d.im2col(pf.baseAddress!, pc.baseAddress!, geometry) }
        }
        // PyTorch default: weight and bias U(±1/√fan_in), variance 1/(3·fan_in).
        let sigma = (1 / (3 * Float(geometry.patch))).squareRoot()
        let d = c * hw, k = geometry.patch
        var rows = Tensor(zeros: [c * (k + 1), d])
        for o in 0..<c {
            for r in 0..<k {
                let dst = (o * (k + 1) + r) * d + o * hw
                for p in 0..<hw { rows.data[dst + p] = sigma * cols[r * hw + p] }
            }
            let biasRow = (o * (k + 1) + k) * d + o * hw
            for p in 0..<hw { rows.data[biasRow + p] = sigma }
        }
        return rows
    }
}

extension DiT: OutputLayerMarginalizable {
    /// The final linear E → p²C per token, Xavier-uniform weight, zero bias; ε̂ unpatchified.
    public func marginalFactorization(scheme: InitScheme) -> MarginalFactorization? {
        guard scheme == .reference else { return nil }
        let f = patchFeatures, t = tokens
        var layout = [Int32](repeating: 0, count: f * t)
        for a in 0..<f { for m in 0..<t { layout[a * t + m] = Int32(pixelIndex(token: m, feature: a)) } }
        return MarginalFactorization(
            layer: .linear(positions: t), groups: f, weightVariance: 2 / Double(config.hiddenSize + f),
            biasVariance: 0, layout: layout)
    }

    public func marginalFeatures(
        _ x: Tensor, timestep: Float, parameters: ParameterSet, scheme: InitScheme
    ) throws -> Tensor {
        try MarginalUnavailable.requireReference(scheme)
        let u = GradientMode.withoutGradients {
            tokenFeatures(
                Variable(x), timesteps: [timestep], parameters: ParameterBindings(parameters, requiringGradients: false)
            ).value
        }  // (1, T, E)
        let t = tokens, e = config.hiddenSize
        var rows = Tensor(zeros: [e, t])  // (E, T)
        for m in 0..<t { for k in 0..<e { rows.data[k * t + m] = u.data[m * e + k] } }
        return rows
    }

    public func marginalRows(
        _ x: Tensor, timestep: Float, parameters: ParameterSet, scheme: InitScheme
    ) throws -> Tensor {
        let u = try marginalFeatures(x, timestep: timestep, parameters: parameters, scheme: scheme)  // (E, T)
        let e = config.hiddenSize, f = patchFeatures, t = tokens
        let d = inputShape.reduce(1, *)
        // Xavier uniform bound √(6/(E + F)): variance 2/(E + F). The bias is zero, not random.
        let sigma = (2 / Float(e + f)).squareRoot()
        var rows = Tensor(zeros: [f * e, d])
        for a in 0..<f {
            for k in 0..<e {
                let row = (a * e + k) * d
                for m in 0..<t { rows.data[row + pixelIndex(token: m, feature: a)] = sigma * u.data[k * t + m] }
            }
        }
        return rows
    }
}
