import Tensors

/// Parameters as autodiff Variables for one forward pass. With `requiringGradients` the
/// trainable ones are leaves that receive gradients; otherwise all are constants and the
/// forward pass records no graph.
public struct ParameterBindings {
    public let variables: [String: Variable]

    public init(_ parameters: ParameterSet, requiringGradients: Bool) {
        var v: [String: Variable] = [:]
        for spec in parameters.specs {
            v[spec.name] = Variable(
                parameters.values[spec.name]!, requiresGradient: requiringGradients && spec.trainable)
        }
        variables = v
    }

    /// The parameter called `name` (a programmer error if absent: names come from specs).
    public subscript(_ name: String) -> Variable {
        guard let v = variables[name] else { preconditionFailure("no parameter named \(name)") }
        return v
    }

    /// Gradients after `backward`, by name (zeros for parameters the loss does not reach).
    public func gradients(_ parameters: ParameterSet) -> [String: Tensor] {
        var g: [String: Tensor] = [:]
        for spec in parameters.specs where spec.trainable {
            g[spec.name] = variables[spec.name]!.gradient ?? Tensor(zeros: spec.shape)
        }
        return g
    }

    // MARK: - Layers by parameter prefix

    /// `nn.Conv2d` with `prefix.weight` and `prefix.bias`.
    func conv(_ x: Variable, _ prefix: String, stride: Int = 1, padding: Int = 0) -> Variable {
        conv2d(x, weight: self[prefix + ".weight"], bias: self[prefix + ".bias"], stride: stride, padding: padding)
    }

    /// The same conv followed by `+ addend` ((N, O, 1, 1) or the output's shape), fused: bitwise
    /// `conv(x, prefix, …) + addend` (``Tensors/conv2d(_:weight:bias:stride:padding:adding:)``).
    func conv(_ x: Variable, _ prefix: String, padding: Int = 0, adding addend: Variable) -> Variable {
        conv2d(x, weight: self[prefix + ".weight"], bias: self[prefix + ".bias"], padding: padding, adding: addend)
    }

    /// `GroupNorm32` (`norm`), SiLU and the conv `conv` (+ `addend`) as one op: bitwise
    /// `conv(groupNorm32SiLU(x, norm), conv, …)`, without writing the activation at inference
    /// (``Tensors/conv2dOfGroupNormSiLU(_:groups:normWeight:normBias:eps:weight:bias:padding:adding:)``).
    func convOfGroupNorm32SiLU(
        _ x: Variable, norm: String, conv: String, padding: Int, adding addend: Variable? = nil
    ) -> Variable {
        conv2dOfGroupNormSiLU(
            x, groups: 32, normWeight: self[norm + ".weight"], normBias: self[norm + ".bias"], eps: 1e-5,
            weight: self[conv + ".weight"], bias: self[conv + ".bias"], padding: padding, adding: addend)
    }

    /// `nn.Linear` with `prefix.weight` and `prefix.bias`.
    func linear(_ x: Variable, _ prefix: String) -> Variable {
        Tensors.linear(x, weight: self[prefix + ".weight"], bias: self[prefix + ".bias"])
    }

    /// `nn.Conv1d(kernel_size=1)` with `prefix.weight` and `prefix.bias`.
    func conv1x1(_ x: Variable, _ prefix: String) -> Variable {
        conv1d(x, weight: self[prefix + ".weight"], bias: self[prefix + ".bias"])
    }

    /// `GroupNorm32`: 32 groups, eps 1e-5, affine `prefix.weight`/`prefix.bias`.
    func groupNorm32(_ x: Variable, _ prefix: String) -> Variable {
        groupNorm(x, groups: 32, weight: self[prefix + ".weight"], bias: self[prefix + ".bias"], eps: 1e-5)
    }

    /// `GroupNorm32` followed by SiLU, fused (``Tensors/groupNormSiLU(_:groups:weight:bias:eps:)``).
    func groupNorm32SiLU(_ x: Variable, _ prefix: String) -> Variable {
        groupNormSiLU(x, groups: 32, weight: self[prefix + ".weight"], bias: self[prefix + ".bias"], eps: 1e-5)
    }
}

/// Spec helpers for the common layers, with PyTorch's default initialisation.
enum LayerSpecs {
    /// Conv (O, C, k, k) + bias (O), U(±1/√(C·k·k)).
    static func conv(_ prefix: String, out: Int, in c: Int, kernel k: Int) -> [ParameterSpec] {
        let bound = 1 / Float(c * k * k).squareRoot()
        return [
            ParameterSpec(prefix + ".weight", [out, c, k, k], .uniform(bound: bound), role: .convolutionKernel),
            ParameterSpec(prefix + ".bias", [out], .uniform(bound: bound), role: .bias),
        ]
    }

    /// Conv1d (O, C, 1) + bias.
    static func conv1x1(_ prefix: String, out: Int, in c: Int) -> [ParameterSpec] {
        let bound = 1 / Float(c).squareRoot()
        return [
            ParameterSpec(prefix + ".weight", [out, c, 1], .uniform(bound: bound), role: .convolutionKernel),
            ParameterSpec(prefix + ".bias", [out], .uniform(bound: bound), role: .bias),
        ]
    }

    /// Linear (O, I) + bias (O), PyTorch default U(±1/√I).
    static func linear(_ prefix: String, out: Int, in i: Int) -> [ParameterSpec] {
        let bound = 1 / Float(i).squareRoot()
        return [
            ParameterSpec(prefix + ".weight", [out, i], .uniform(bound: bound), role: .linearWeight),
            ParameterSpec(prefix + ".bias", [out], .uniform(bound: bound), role: .bias),
        ]
    }

    /// GroupNorm/LayerNorm affine parameters: γ = 1, β = 0.
    static func norm(_ prefix: String, channels: Int) -> [ParameterSpec] {
        [
            ParameterSpec(prefix + ".weight", [channels], .ones, role: .normalization),
            ParameterSpec(prefix + ".bias", [channels], .zeros, role: .normalization),
        ]
    }
}
