/// `conv2d(groupNormSiLU(x, …), …)` (+ `addend`): a U-Net ResBlock's norm, SiLU and 3×3
/// convolution as one op.
///
/// When nothing needs a gradient (sampling, evaluation) and the convolution takes the Winograd
/// path (``WinogradConv/isChosen(_:batch:)``), the SiLU(GroupNorm(x)) activation is never
/// written whole: the group norm's moments are taken over x, and each chunk's planes are formed
/// just before their input transform (``AffineSiLUInput``), with the same kernels on the same
/// values, so the output is bitwise that of the two ops apart (tested). Otherwise — recording
/// gradients, or a convolution on the im2col path — the two ops run apart, as before.
public func conv2dOfGroupNormSiLU(
    _ x: Variable, groups: Int, normWeight: Variable?, normBias: Variable?, eps: Double = 1e-5,
    weight: Variable, bias: Variable?, padding: Int, adding addend: Variable? = nil
) -> Variable {
    let inputs: [Variable?] = [x, normWeight, normBias, weight, bias, addend]
    let recording = GradientMode.isRecording && inputs.contains { $0?.requiresGradient == true }
    let g = Conv2d.Geometry(input: x.shape, weight: weight.shape, stride: 1, padding: padding)
    let n = x.shape[0]
    guard !recording, WinogradConv.isChosen(g, batch: n) else {
        let h = groupNormSiLU(x, groups: groups, weight: normWeight, bias: normBias, eps: eps)
        guard let addend else { return conv2d(h, weight: weight, bias: bias, padding: padding) }
        return conv2d(h, weight: weight, bias: bias, padding: padding, adding: addend)
    }
    if let bias { precondition(bias.shape == [g.outChannels], "conv2d bias \(bias.shape)") }
    let (scale, shift) = GroupNorm.affineCoefficients(
        x.value, groups: groups, weight: normWeight?.value, bias: normBias?.value, eps: eps)
    let sum = addend.map { ConvAddend($0.value, output: [n, g.outChannels, g.outHeight, g.outWidth]) }
    return Variable(
        WinogradConv.forward(
            x.value, weight: weight.value, bias: bias?.value, g, adding: sum,
            input: AffineSiLUInput(scale: scale, shift: shift)))
}
