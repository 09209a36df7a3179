/// 2×2 average pooling with stride 2 (`nn.AvgPool2d(2)`, the "area" downsampling):
/// (N, C, H, W) → (N, C, ⌊H/2⌋, ⌊W/2⌋). An odd last row/column is dropped, as in PyTorch.
/// VJP: each output gradient spread as ¼ over its 2×2 window.
public enum AvgPool2d {
    public static func forward(_ x: Tensor) -> Tensor {
        precondition(x.rank == 4, "avgPool2x2 expects (N, C, H, W), got \(x.shape)")
        let planes = x.shape[0] * x.shape[1], h = x.shape[2], w = x.shape[3]
        let ho = h / 2, wo = w / 2
        return Tensor(shape: [x.shape[0], x.shape[1], ho, wo]) { o in
            x.data.withUnsafeBufferPointer { p in
                for c in 0..<planes {
                    let src = p.baseAddress! + c * h * w, dst = o.baseAddress! + c * ho * wo
                    for y in 0..<ho {
                        for xx in 0..<wo {
                            let a = src[2 * y * w + 2 * xx], b = src[2 * y * w + 2 * xx + 1]
                            let c2 = src[(2 * y + 1) * w + 2 * xx], d = src[(2 * y + 1) * w + 2 * xx + 1]
                            dst[y * wo + xx] = (a + b + c2 + d) * 0.25
                        }
                    }
                }
            }
        }
    }

    public static func backward(inputShape: [Int], _ dy: Tensor) -> Tensor {
        let planes = inputShape[0] * inputShape[1], h = inputShape[2], w = inputShape[3]
        let ho = h / 2, wo = w / 2
        var dx = Tensor(zeros: inputShape)
        dx.data.withUnsafeMutableBufferPointer { o in
            dy.data.withUnsafeBufferPointer { g in
                for c in 0..<planes {
                    let dst = o.baseAddress! + c * h * w, src = g.baseAddress! + c * ho * wo
                    for y in 0..<ho {
                        for xx in 0..<wo {
                            let v = src[y * wo + xx] * 0.25
                            dst[2 * y * w + 2 * xx] = v; dst[2 * y * w + 2 * xx + 1] = v
                            dst[(2 * y + 1) * w + 2 * xx] = v; dst[(2 * y + 1) * w + 2 * xx + 1] = v
                        }
                    }
                }
            }
        }
        return dx
    }
}

extension Variable {
    /// 2×2 average pooling.
    public func avgPool2x2() -> Variable {
        let shape = value.shape
        return Variable.record(AvgPool2d.forward(value), [self]) {
            { dy in [AvgPool2d.backward(inputShape: shape, dy)] }
        }
    }
}
