/// A tensor added to the output of a convolution as part of it: (N, O, 1, 1), one value per
/// image and channel (the ResBlock's timestep embedding), or (N, O, Ho, Wo), element-wise (a
/// residual). ``Conv2d`` adds it to each chunk's outputs right after they are written (the
/// Winograd output transform, or the GEMM and its copy-back), while they are in cache, instead
/// of streaming the whole (N, O, Ho, Wo) result through memory again in a separate broadcast add.
///
/// Numerics: each output is (conv + bias) rounded, then + addend rounded — exactly the two
/// float additions of `conv2d(…) + addend` (float addition is commutative, so the residual's
/// `skip + h` is the same too). Results are bitwise those of the unfused ops.
struct ConvAddend {
    /// (N, O, 1, 1) or (N, O, Ho, Wo).
    let value: Tensor
    /// Whether there is one value per (image, channel) rather than per output element.
    let isPerChannel: Bool

    /// `value` as the addend of a convolution with output shape `output` (N, O, Ho, Wo).
    init(_ value: Tensor, output: [Int]) {
        precondition(output.count == 4, "conv2d output \(output)")
        isPerChannel = value.shape == [output[0], output[1], 1, 1]
        precondition(
            isPerChannel || value.shape == output,
            "conv2d addend \(value.shape): expected \([output[0], output[1], 1, 1]) or \(output)")
        self.value = value
    }

    /// out[i] += addend[i] for the images `images` of out (N, O, P), P = Ho·Wo positions.
    func add(to out: UnsafeMutablePointer<Float>, images: Range<Int>, channels: Int, positions: Int) {
        value.data.withUnsafeBufferPointer { pa in
            let a = pa.baseAddress!
            if isPerChannel {
                for plane in (images.lowerBound * channels)..<(images.upperBound * channels) {
                    let s = a[plane], y = out + plane * positions
                    for p in 0..<positions { y[p] = y[p] + s }
                }
            } else {
                let size = channels * positions
                for k in (images.lowerBound * size)..<(images.upperBound * size) { out[k] = out[k] + a[k] }
            }
        }
    }
}

/// `nn.Conv2d` forward followed by `+ addend` (broadcast from (N, O, 1, 1), or (N, O, Ho, Wo)),
/// fused: the values and all gradients are bitwise those of `conv2d(x, …) + addend`, without
/// the separate pass over the output. ∂addend is the broadcast add's own reduction of ∂y.
public func conv2d(
    _ x: Variable, weight: Variable, bias: Variable?, stride: Int = 1, padding: Int = 0, adding addend: Variable
) -> Variable {
    let y = Conv2d.forward(
        x.value, weight: weight.value, bias: bias?.value, stride: stride, padding: padding, algorithm: .automatic,
        adding: addend.value)
    let inputs = [x, weight] + (bias.map { [$0] } ?? []) + [addend]
    return Variable.record(y, inputs) {
        let xv = x.value, wv = weight.value, hasBias = bias != nil, addendShape = addend.shape
        return { dy in
            let (dx, dw, db) = Conv2d.backward(xv, weight: wv, hasBias: hasBias, stride: stride, padding: padding, dy)
            return [dx, dw] + (hasBias ? [db] : []) + [Broadcasting.reduce(dy, to: addendShape)]
        }
    }
}
