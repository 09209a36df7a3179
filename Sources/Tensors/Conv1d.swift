/// Pointwise 1-D convolution, as `nn.Conv1d(kernel_size=1)` in the U-Net attention block
/// (qkv and proj_out): x (N, C, T), weight (O, C, 1), bias (O) → (N, O, T).
/// It is a 1×1 Conv2d on (N, C, T, 1), which is one GEMM per sample with no im2col.
public enum Conv1d {
    public static func forward(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
        precondition(
            x.rank == 3 && weight.rank == 3 && weight.shape[2] == 1,
            "conv1d(1×1): input \(x.shape), weight \(weight.shape)")
        let y = Conv2d.forward(x.reshaped(x.shape + [1]), weight: weight.reshaped(weight.shape + [1]), bias: bias)
        return y.reshaped([x.shape[0], weight.shape[0], x.shape[2]])
    }

    public static func backward(_ x: Tensor, weight: Tensor, hasBias: Bool, _ dy: Tensor) -> (Tensor, Tensor, Tensor?) {
        let (dx, dw, db) = Conv2d.backward(
            x.reshaped(x.shape + [1]), weight: weight.reshaped(weight.shape + [1]),
            hasBias: hasBias, dy.reshaped(dy.shape + [1]))
        return (dx.reshaped(x.shape), dw.reshaped(weight.shape), db)
    }
}

/// `nn.Conv1d(C, O, 1)` forward with autodiff.
public func conv1d(_ x: Variable, weight: Variable, bias: Variable?) -> Variable {
    let y = Conv1d.forward(x.value, weight: weight.value, bias: bias?.value)
    let xv = x.value, wv = weight.value, hasBias = bias != nil
    return Variable.recordWithParameters(y, x: x, weight: weight, bias: bias) { dy in
        Conv1d.backward(xv, weight: wv, hasBias: hasBias, dy)
    }
}
